"""Scale-out: views of per-partition engines, merged, equal one engine over the whole stream."""

from __future__ import annotations

import json
import random
import zlib

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kpi.aggregates import Bucket, GroupAgg
from kpi.config import EngineConfig, SeriesSpec
from kpi.engine import Engine
from kpi.formulas import kpi_rows
from kpi.labels import OTHER, LabelPolicy
from kpi.merge import busiest_labels, cap_labels, merge_and_cap, merge_views
from kpi.series import WindowView
from kpi.sla import SlaPolicy
from kpi import state

from .kpi_streamgen import SLA, arrival_order, generate, with_duplicates
from .kpi_testkit import DAY0

GRACE = 600
SPECS = (SeriesSpec(900, retain_closed=200), SeriesSpec(3600, retain_closed=60, stickiness=True))
CONFIG = EngineConfig(window_seconds=900, grace_seconds=GRACE, sla=SlaPolicy(SLA))


def _partition_of(event: dict, n: int) -> int:
    key = event["ticket_id"] if event["type"].startswith("ticket.") else event["customer_id"]
    return zlib.crc32(key.encode()) % n


def _rows(view) -> list:
    return sorted((kpi, tuple(sorted(labels.items())), value) for kpi, labels, value in kpi_rows(view))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), partitions=st.integers(2, 6), via_wire=st.booleans())
def test_merged_partition_views_equal_the_single_engine_view(seed: int, partitions: int, via_wire: bool) -> None:
    rng = random.Random(seed)
    gens = generate(rng, DAY0 + rng.randrange(3600), rng.randint(2, 40))
    arrived = arrival_order(rng, with_duplicates(rng, gens), jitter_seconds=GRACE / 2)
    single = Engine(CONFIG, series=SPECS)
    engines = [Engine(CONFIG, series=SPECS) for _ in range(partitions)]
    for g in arrived:
        raw = json.dumps(g.event).encode()
        single.process_raw(raw)
        engines[_partition_of(g.event, partitions)].process_raw(raw)
    assert sum(e.stats.accepted for e in engines) == single.stats.accepted
    # Close every engine through the same bucket, as partitions that kept receiving events would.
    boundary = single.watermark.value + 7200
    for e in (single, *engines):
        e.advance_to(boundary)
    for i, s in enumerate(single.series):
        end = s.index(boundary) - 1
        start = end - min(s.retain_closed, 40) + 1
        views = [e.series[i].view(start, end) for e in engines]
        if via_wire:  # the scale-out path sends views between workers
            views = [state.decode_view(orjson_roundtrip(state.encode_view(v))) for v in views]
        merged = merge_views(views)
        expected = s.view(start, end)
        assert _rows(merged) == _rows(expected)
        assert (merged.active_day, merged.active_month) == (expected.active_day, expected.active_month)


def orjson_roundtrip(obj):
    import orjson

    return orjson.loads(orjson.dumps(obj))


def test_views_of_different_windows_do_not_merge() -> None:
    a = WindowView(0, 900, Bucket(), {}, {}, 0, 0, None)
    b = WindowView(900, 1800, Bucket(), {}, {}, 0, 0, None)
    try:
        merge_views([a, b])
    except ValueError as exc:
        assert "different windows" in str(exc)
    else:
        raise AssertionError("merged views of different windows")
    assert merge_views([]) is None


def test_merged_labels_beyond_the_cap_fold_into_other() -> None:
    # Two partitions each under a cap of 2 teams, together 3: the merged view keeps 2.
    views = []
    for teams in (("a", "b"), ("b", "c")):
        flows = Bucket()
        for t in teams:
            g = flows.group(("team", t))
            g.created = 1
        flows.group(()).created = 2
        views.append(WindowView(0, 900, flows, {("team", teams[0]): 1}, {}, 0, 0, None))
    merged = cap_labels(merge_views(views), LabelPolicy(max_values_per_label=2))
    created = {k: g.created for k, g in merged.flows.groups.items()}
    assert created == {(): 4, ("team", "a"): 1, ("team", "b"): 2, ("team", OTHER): 1}
    assert merged.open_tickets == {("team", "a"): 1, ("team", "b"): 1}
    assert isinstance(merged.flows.groups[()], GroupAgg)


def test_busiest_labels_come_first() -> None:
    flows = Bucket()
    for team, n in (("zeta", 5), ("alpha", 1), ("beta", 1)):
        flows.group(("team", team)).created = n
    view = WindowView(0, 900, flows, {("team", "alpha"): 3}, {}, 0, 0, None)
    assert busiest_labels(view) == [("team", "zeta"), ("team", "alpha"), ("team", "beta")]


def test_merge_and_cap_merges_each_window_and_caps_all_with_one_policy() -> None:
    # Two partitions, two trailing windows, a cap of 2 teams. The long window's busiest
    # teams are admitted first: "b" (created 2 + 2 = 4), "c" (3), then "a" (1) is left out,
    # by hand. The short window has only "a" and "b": it is capped with the same policy, so
    # "a" is folded into other there too, and the SLA teams mapped through the policy agree.
    def view(start: int, end: int, created: dict[str, int]) -> WindowView:
        flows = Bucket()
        for team, n in created.items():
            flows.group(("team", team)).created = n
        flows.group(()).created = sum(created.values())
        return WindowView(start, end, flows, {}, {}, 0, 0, None)

    partials = {
        "1h": [view(0, 3600, {"a": 1, "b": 2}), view(0, 3600, {"b": 2, "c": 3})],
        "5m": [view(3300, 3600, {"a": 1}), view(3300, 3600, {"b": 1})],
        "24h": [],  # no worker has this window: left out
    }
    capped = merge_and_cap(partials, max_label_values=2, label_allow={})
    assert set(capped.views) == {"1h", "5m"}
    created = {name: {k: g.created for k, g in v.flows.groups.items()} for name, v in capped.views.items()}
    assert created["1h"] == {(): 8, ("team", "b"): 4, ("team", "c"): 3, ("team", OTHER): 1}
    assert created["5m"] == {(): 2, ("team", "b"): 1, ("team", OTHER): 1}
    assert capped.labels.map("team", "a") == OTHER and capped.labels.map("team", "c") == "c"


def test_merge_and_cap_of_one_window_is_merge_then_cap() -> None:
    views = [WindowView(0, 900, Bucket(), {("team", t): 1}, {}, 0, 0, None) for t in ("x", "y", "z")]
    capped = merge_and_cap({0: views}, max_label_values=1, label_allow={"channel": frozenset({"chat"})})
    assert capped.views[0].open_tickets == {("team", "x"): 1, ("team", OTHER): 2}  # equal volume: sorted
    assert capped.labels.map("channel", "email") == OTHER
