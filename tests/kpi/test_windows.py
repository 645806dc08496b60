"""Window arithmetic, durations, the watermark, and validation of the engine's settings."""

from __future__ import annotations

import pytest

from kpi.config import EngineConfig
from kpi.dedup import Deduplicator
from kpi.errors import ConfigError, KpiError
from kpi.labels import OTHER, LabelPolicy
from kpi.windows import Watermark, check_window_seconds, parse_duration_seconds, window_index, window_start_seconds
from .kpi_testkit import DAY0, HOUR, created, nps, run


@pytest.mark.parametrize(
    ("ts", "size", "index"),
    [
        (0, 3600, 0),
        (3599, 3600, 0),
        (3599.999999, 3600, 0),
        (3600, 3600, 1),  # exactly k*W belongs to window k
        (3600.000001, 3600, 1),
        (-0.5, 3600, -1),  # before the epoch: floor, not truncation
        (-3600, 3600, -1),
        (-3600.5, 3600, -2),
        (DAY0, 86400, DAY0 // 86400),
        (DAY0 + 59, 60, DAY0 // 60),
        (DAY0 + 60, 60, DAY0 // 60 + 1),
        (DAY0 + 899, 900, DAY0 // 900),
    ],
)
def test_window_index_is_epoch_aligned_floor(ts: float, size: int, index: int) -> None:
    assert window_index(ts, size) == index
    start = window_start_seconds(index, size)
    assert start <= ts < start + size


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("5m", 300), ("1h", 3600), ("1d", 86400), ("45", 45), (" 15m ", 900), ("0s", 0), (30, 30), (2.0, 2)],
)
def test_parse_duration(text, seconds: int) -> None:
    assert parse_duration_seconds(text) == seconds


@pytest.mark.parametrize("text", ["", "1w", "1.5h", "-5m", "h", "5 minutes", -1, 1.5, True])
def test_parse_duration_rejects_nonsense(text) -> None:
    with pytest.raises(ConfigError):
        parse_duration_seconds(text)


@pytest.mark.parametrize("size", [1, 60, 300, 900, 3600, 6 * 3600, 86400])
def test_window_sizes_that_divide_a_day(size: int) -> None:
    assert check_window_seconds(size) == size


@pytest.mark.parametrize("size", [0, -60, 7, 7 * 60, 5000, 2 * 86400])
def test_window_sizes_that_do_not_divide_a_day_are_refused(size: int) -> None:
    with pytest.raises(ConfigError):
        check_window_seconds(size)


def test_watermark_lateness_boundary() -> None:
    wm = Watermark(300)
    assert not wm.is_late(-1e12)  # nothing seen yet
    wm.observe(1000)
    wm.observe(500)  # an older event does not move it back
    assert wm.value == 1000
    assert wm.closed_before() == 700
    assert wm.is_late(699.999)
    assert not wm.is_late(700)
    with pytest.raises(ConfigError):
        Watermark(-1)


def test_windows_close_as_the_watermark_passes_end_plus_grace() -> None:
    # Window 10 = [10h, 11h). With 5 min grace it closes once an event at >= 11h05 is accepted.
    from kpi.engine import Engine
    from .kpi_testkit import line

    engine = Engine(EngineConfig(grace_seconds=300))
    t = DAY0 + 10 * HOUR
    engine.process_raw(line(nps(9, t + 10)))
    engine.process_raw(line(nps(9, t + HOUR + 299)))
    assert engine.drain_closed() == []
    engine.process_raw(line(nps(9, t + HOUR + 300)))
    closed = engine.drain_closed()
    assert [index for _, index, _, _ in closed] == [(t // HOUR)]
    engine.flush()
    assert [index for _, index, _, _ in engine.drain_closed()] == [(t // HOUR) + 1]


def test_empty_windows_between_events_are_reported() -> None:
    result = run([nps(9, DAY0 + 10), nps(0, DAY0 + 3 * HOUR + 10)])
    assert result.windows() == [0, 1, 2, 3]
    assert result.value("nps_responses", 1) == 0
    assert result.value("nps", 2) is None


def test_results_for_out_of_order_input_within_grace_equal_sorted_input() -> None:
    t = DAY0 + HOUR
    events = [nps(9, t - 100), created("a", t - 50), nps(0, t - 1), nps(10, t), created("b", t + 1), nps(7, t + 200)]
    sorted_result = run(events)
    for order in ([5, 4, 3, 2, 1, 0], [3, 0, 5, 1, 4, 2], [2, 3, 1, 0, 5, 4]):
        shuffled = run([events[i] for i in order])
        assert shuffled.rejects == []
        assert shuffled.rows == sorted_result.rows
    assert sorted_result.value("nps_responses", 0) == 2  # t-100, t-1
    assert sorted_result.value("nps_responses", 1) == 2  # t (edge), t+200
    assert sorted_result.value("tickets_created", 0) == 1 and sorted_result.value("tickets_created", 1) == 1


# --- configuration ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "kwargs",
    [
        {"window_seconds": 0},
        {"window_seconds": 7 * 60},
        {"grace_seconds": -1},
        {"group_by": ("team", "region")},
        {"reporting_currency": ""},
        {"fx_rates": {"EUR": 0}},
        {"fx_rates": {"EUR": -1.1}},
        {"fx_rates": {"EUR": "1.1"}},
        {"ticket_retention_seconds": 0},
        {"max_customers": 0},
    ],
)
def test_engine_config_validates_when_built(kwargs) -> None:
    with pytest.raises(ConfigError) as info:
        EngineConfig(**kwargs)
    assert isinstance(info.value, KpiError) and isinstance(info.value, ValueError)
    assert str(info.value)


def test_label_policy_bounds_values_to_first_n_or_allow_list() -> None:
    policy = LabelPolicy(max_values_per_label=2)
    assert [policy.map("team", t) for t in ["a", "b", "c", "a", "d", "b"]] == ["a", "b", OTHER, "a", OTHER, "b"]
    assert policy.overflowed("team") and not policy.overflowed("channel")
    allow = LabelPolicy(allow={"channel": frozenset({"chat"})})
    assert allow.map("channel", "chat") == "chat"
    assert allow.map("channel", "email") == OTHER
    with pytest.raises(ConfigError):
        LabelPolicy(max_values_per_label=0)
    with pytest.raises(ConfigError):
        LabelPolicy(allow={"region": frozenset()})


def test_label_overflow_becomes_other_in_the_output() -> None:
    t = DAY0
    events = [created(f"t{i}", t + i, team=team) for i, team in enumerate(["a", "b", "c", "d"])]
    result = run(events, max_label_values=2)
    assert result.value("tickets_created", 0, team="a") == 1
    assert result.value("tickets_created", 0, team="b") == 1
    assert result.value("tickets_created", 0, team="other") == 2  # c and d


def test_deduplicator_forgets_ids_only_once_copies_would_be_late() -> None:
    d = Deduplicator(grace_seconds=300)
    assert d.first_time("a", 100)
    assert not d.first_time("a", 100)
    assert d.first_time("b", 700)
    d.expire(closed_before_seconds=100)  # a copy of "a" (ts 100) could still be accepted
    assert not d.first_time("a", 100)
    d.expire(closed_before_seconds=300)  # everything before 300 could only arrive late now
    assert len(d) == 1
    assert not d.first_time("b", 700)
