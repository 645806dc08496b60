"""Survey KPIs (NPS, CSAT, CES) per window and label, worked out by hand."""

from __future__ import annotations

import pytest

from .kpi_testkit import DAY0, HOUR, ces, checkout, csat, nps, run

T = DAY0


@pytest.mark.parametrize(
    ("scores", "expected_nps"),
    [
        # 6 is a detractor, 7 and 8 passives, 9 a promoter: (1 - 1) / 4 = 0
        ([6, 7, 8, 9], 0.0),
        ([9], 100.0),
        ([10], 100.0),
        ([6], -100.0),
        ([0], -100.0),
        ([7], 0.0),
        ([8], 0.0),
        ([7, 8], 0.0),
        # promoters 9, 10, 10 = 3; detractors 0, 6 = 2: 100 * (3 - 2) / 5 = 20
        ([0, 6, 9, 10, 10], 20.0),
        # promoters 9 = 1; detractors 5, 6 = 2; passives 7, 8: 100 * (1 - 2) / 5 = -20
        ([5, 6, 7, 8, 9], -20.0),
        # promoters 2, detractors 1, of 3: 100 / 3
        ([9, 10, 1], 100 / 3),
        # every score once: promoters 9, 10 (2), detractors 0..6 (7): 100 * -5 / 11
        (list(range(11)), -500 / 11),
    ],
)
def test_nps_by_hand(scores: list[int], expected_nps: float) -> None:
    result = run([nps(s, T + i) for i, s in enumerate(scores)])
    assert result.value("nps") == pytest.approx(expected_nps, rel=1e-12, abs=1e-12)
    assert result.value("nps_responses") == len(scores)


@pytest.mark.parametrize(
    ("scores", "expected_csat"),
    [
        ([1, 2, 3, 4, 5], 40.0),  # satisfied 4, 5: 100 * 2 / 5
        ([3], 0.0),
        ([4], 100.0),
        ([5, 5, 1], 200 / 3),
        ([4, 3, 4, 3], 50.0),
    ],
)
def test_csat_by_hand(scores: list[int], expected_csat: float) -> None:
    result = run([csat(s, T + i) for i, s in enumerate(scores)])
    assert result.value("csat") == pytest.approx(expected_csat, rel=1e-12)
    assert result.value("csat_responses") == len(scores)


@pytest.mark.parametrize(
    ("scores", "expected_ces"),
    [
        ([1, 2, 7], 10 / 3),
        ([7, 7], 7.0),
        ([1], 1.0),
        ([4, 5, 6, 1], 4.0),  # 16 / 4
    ],
)
def test_ces_by_hand(scores: list[int], expected_ces: float) -> None:
    result = run([ces(s, T + i) for i, s in enumerate(scores)])
    assert result.value("ces") == pytest.approx(expected_ces, rel=1e-12)
    assert result.value("ces_responses") == len(scores)


def test_no_surveys_gives_null_scores_and_zero_responses() -> None:
    result = run([checkout("c1", T + 5)])
    for kpi in ("nps", "csat", "ces"):
        assert result.value(kpi) is None
    for kpi in ("nps_responses", "csat_responses", "ces_responses"):
        assert result.value(kpi) == 0


def test_each_survey_kind_counts_separately() -> None:
    # nps [9] -> 100; csat [2] -> 0; ces none -> null.
    result = run([nps(9, T + 1), csat(2, T + 2)])
    assert result.value("nps") == 100.0
    assert result.value("csat") == 0.0
    assert result.value("ces") is None


SURVEYS = [
    nps(9, T + 1, team="billing", channel="chat"),
    nps(6, T + 2, team="billing", channel="email"),
    nps(10, T + 3, team="tech"),
    nps(8, T + 4, channel="chat"),
    nps(3, T + 5),
    csat(5, T + 6, team="billing"),
    csat(2, T + 7, team="tech", channel="chat"),
    ces(3, T + 8, team="billing", channel="email", ticket_id="t9"),
    ces(6, T + 9, team="billing"),
]


@pytest.mark.parametrize(
    ("labels", "kpi", "expected"),
    [
        # overall nps [9, 6, 10, 8, 3]: promoters 2, detractors 2 -> 0
        ({}, "nps", 0.0),
        ({}, "nps_responses", 5),
        ({}, "csat", 50.0),  # [5, 2]
        ({}, "ces", 4.5),  # (3 + 6) / 2
        # team billing: nps [9, 6] -> 0; csat [5] -> 100; ces [3, 6] -> 4.5
        ({"team": "billing"}, "nps", 0.0),
        ({"team": "billing"}, "nps_responses", 2),
        ({"team": "billing"}, "csat", 100.0),
        ({"team": "billing"}, "ces", 4.5),
        ({"team": "billing"}, "ces_responses", 2),
        # team tech: nps [10] -> 100; csat [2] -> 0; no ces -> null
        ({"team": "tech"}, "nps", 100.0),
        ({"team": "tech"}, "csat", 0.0),
        ({"team": "tech"}, "ces", None),
        ({"team": "tech"}, "ces_responses", 0),
        # channel chat: nps [9, 8] -> (1 - 0) / 2 = 50; csat [2] -> 0
        ({"channel": "chat"}, "nps", 50.0),
        ({"channel": "chat"}, "csat", 0.0),
        ({"channel": "chat"}, "csat_responses", 1),
        # channel email: nps [6] -> -100; ces [3] -> 3
        ({"channel": "email"}, "nps", -100.0),
        ({"channel": "email"}, "csat", None),
        ({"channel": "email"}, "ces", 3.0),
    ],
    ids=str,
)
def test_surveys_per_team_and_channel(labels: dict[str, str], kpi: str, expected) -> None:
    result = run(SURVEYS)
    value = result.value(kpi, 0, **labels)
    assert value == (pytest.approx(expected, rel=1e-12) if expected is not None else None)


def test_surveys_without_labels_only_count_overall() -> None:
    result = run(SURVEYS)
    assert result.label_sets("nps") == {
        (), (("team", "billing"),), (("team", "tech"),), (("channel", "chat"),), (("channel", "email"),),
    }


def test_group_by_drops_survey_breakdowns_not_asked_for() -> None:
    result = run(SURVEYS, group_by=("team",))
    assert result.label_sets("nps") == {(), (("team", "billing"),), (("team", "tech"),)}
    result = run(SURVEYS, group_by=("priority",))
    assert result.label_sets("nps") == {()}
    assert result.value("nps_responses") == 5


def test_score_exactly_on_the_window_edge_belongs_to_the_next_window() -> None:
    # 1h windows: T+3599 and T+3599.999 are window 0; T+3600 is window 1 (an event at k*W is in window k).
    result = run([nps(10, T + HOUR - 1), nps(0, T + HOUR - 0.001), nps(9, T + HOUR), nps(6, T + 2 * HOUR - 1)])
    assert result.value("nps_responses", 0) == 2
    assert result.value("nps", 0) == 0.0  # [10, 0]
    assert result.value("nps_responses", 1) == 2
    assert result.value("nps", 1) == 0.0  # [9, 6]


def test_window_start_and_end_are_epoch_aligned() -> None:
    result = run([nps(9, T + 5 * HOUR + 1234)], window_seconds=15 * 60)
    ((_, start, end, _, _),) = {r for r in result.rows if r[0] == "nps"}
    assert start == T + 5 * HOUR + 15 * 60  # 1234 s falls in [900, 1800)
    assert end == start + 900
