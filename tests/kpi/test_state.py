"""Checkpoints: an engine encoded, decoded and continued equals one that never stopped."""

from __future__ import annotations

import json
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kpi import state
from kpi.config import EngineConfig, SeriesSpec
from kpi.engine import Engine
from kpi.formulas import kpi_rows
from kpi.sla import SlaPolicy
from kpi.sketches import EXACT_LIMIT

from .data import checkpoint_v1
from .kpi_streamgen import SLA, arrival_order, generate, with_duplicates
from .kpi_testkit import DAY0

GRACE = 600
# The worker's shape: trailing series that keep closed buckets, the coarsest with stickiness.
SPECS = (SeriesSpec(900, retain_closed=4), SeriesSpec(3600, retain_closed=24, stickiness=True))
CONFIG = EngineConfig(window_seconds=900, grace_seconds=GRACE, sla=SlaPolicy(SLA))


def _observe(engine: Engine) -> list:
    """Everything an engine shows: closed windows, trailing views, state sizes and counters."""
    out = []
    for s, k, bucket, end in engine.drain_closed():
        view = s.closed_view(k, s.size_seconds, bucket, end)
        out.append(("closed", s.size_seconds, k, sorted(map(repr, kpi_rows(view)))))
    for s in engine.series:
        if engine.watermark.value != float("-inf"):
            end = s.index(engine.watermark.value)
            view = s.view(end - 30, end)
            out.append(("view", s.size_seconds, sorted(map(repr, kpi_rows(view))), view.active_day, view.active_month))
    st_ = engine.stats
    out.append(("stats", st_.accepted, st_.duplicates, sorted(st_.rejected.items()), engine.tracked_tickets, engine.tracked_customers))
    return out


def _run(lines: list[bytes], cuts: list[int], restore: bool) -> list:
    """Observe at every cut; with `restore`, also replace the engine by its decoded state there."""
    engine = Engine(CONFIG, series=SPECS)
    observed = []
    for i, line in enumerate(lines):
        if i in cuts:
            observed += _observe(engine)
            if restore:
                blob = state.dumps(state.engine_state(engine, SPECS))
                engine = state.restore_engine(state.loads(blob), CONFIG, SPECS)
        engine.process_raw(line)
    observed += _observe(engine)
    return observed


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), cuts=st.lists(st.floats(0, 1), max_size=4))
def test_an_engine_restored_from_its_state_continues_exactly(seed: int, cuts: list[float]) -> None:
    rng = random.Random(seed)
    gens = generate(rng, DAY0 + rng.randrange(3600), rng.randint(2, 30))
    arrived = arrival_order(rng, with_duplicates(rng, gens), jitter_seconds=GRACE / 2)
    lines = [json.dumps(g.event).encode() for g in arrived]
    # A late event and an unknown ticket exercise the rejected counters across a restore.
    lines.append(json.dumps({"event_id": "late", "type": "survey.nps", "ts": DAY0 - 86400, "customer_id": "c", "score": 9}).encode())
    lines.append(json.dumps({"event_id": "u1", "type": "ticket.resolved", "ts": DAY0, "ticket_id": "nope", "agent_id": "a"}).encode())
    at = sorted({int(c * len(lines)) for c in cuts})
    assert _run(lines, at, restore=True) == _run(lines, at, restore=False)


def test_hyperloglog_registers_and_duplicates_survive_a_restore() -> None:
    engine = Engine(CONFIG, series=SPECS)
    for i in range(EXACT_LIMIT + 500):
        engine.process_raw(json.dumps({"event_id": f"e{i}", "type": "customer.active", "ts": DAY0 + i % 60, "customer_id": f"c{i}"}).encode())
    restored = state.restore_engine(state.loads(state.dumps(state.engine_state(engine, SPECS))), CONFIG, SPECS)
    for s, r in zip(engine.series, restored.series):
        k = s.index(DAY0)
        assert s.buckets[k].active.registers is not None  # beyond the exact limit: HLL
        assert r.buckets[k].active.count() == s.buckets[k].active.count()
    again = json.dumps({"event_id": "e7", "type": "customer.active", "ts": DAY0 + 7, "customer_id": "c7"}).encode()
    assert restored.process_raw(again) == "duplicate"


def test_a_state_from_another_configuration_or_version_is_refused() -> None:
    engine = Engine(CONFIG, series=SPECS)
    saved = state.engine_state(engine, SPECS)
    other = EngineConfig(window_seconds=900, grace_seconds=GRACE, sla=SlaPolicy({**SLA, "urgent": 60}))
    with pytest.raises(state.StateError, match="different engine configuration"):
        state.restore_engine(saved, other, SPECS)
    with pytest.raises(state.StateError, match="version"):
        state.restore_engine({**saved, "version": 99}, CONFIG, SPECS)
    with pytest.raises(state.StateError, match="undecodable"):
        state.loads(b"not zlib")


def test_a_checkpoint_written_by_format_version_1_is_restored_and_continues_exactly() -> None:
    # tests/kpi/data/checkpoint-v1.zlib was written by the version-1 codec for an engine
    # that had processed checkpoint_v1.prefix(); today's code must pick it up as a worker
    # restarting on it would, and go on exactly as an engine that never stopped.
    saved = state.loads(checkpoint_v1.BLOB.read_bytes())
    assert saved["offset"] == checkpoint_v1.OFFSET
    restored = state.restore_engine(saved["engine"], checkpoint_v1.CONFIG, checkpoint_v1.SPECS)
    uninterrupted = Engine(checkpoint_v1.CONFIG, series=checkpoint_v1.SPECS)
    for raw in checkpoint_v1.prefix():
        uninterrupted.process_raw(raw)
    uninterrupted.drain_closed()  # windows closed before the checkpoint were reported then
    assert sorted(restored.open_tickets()) == sorted(uninterrupted.open_tickets())
    assert _observe(restored) == _observe(uninterrupted)
    suffix = checkpoint_v1.suffix()
    for i, raw in enumerate(suffix):
        assert restored.process_raw(raw) == uninterrupted.process_raw(raw), raw
        if i % 500 == 0:
            assert _observe(restored) == _observe(uninterrupted)
    for engine in (restored, uninterrupted):
        engine.flush()
    assert _observe(restored) == _observe(uninterrupted)
    assert restored.stats == uninterrupted.stats
