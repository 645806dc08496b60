"""Checkpoints: an engine encoded, decoded and continued equals one that never stopped."""

from __future__ import annotations

import ast
import json
import random
import zlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kpi import state
from kpi.aggregates import GroupAgg
from kpi.config import EngineConfig, SeriesSpec
from kpi.engine import Engine
from kpi.formulas import kpi_rows
from kpi.sla import SlaPolicy
from kpi.sketches import EXACT_LIMIT
from kpi.snapshots import GroupCounts

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


def test_todays_writer_writes_the_version_1_layout() -> None:
    # The same engine state, encoded today, reads back as the very JSON the version-1 codec
    # wrote: the format did not change when the codec moved into the classes. (Also what
    # would catch a compiled build dropping a snapshot's array_like option.)
    engine = Engine(checkpoint_v1.CONFIG, series=checkpoint_v1.SPECS)
    for raw in checkpoint_v1.prefix():
        engine.process_raw(raw)
    written = state.dumps({"offset": checkpoint_v1.OFFSET, "engine": state.engine_state(engine, checkpoint_v1.SPECS)})
    assert state.loads(written) == state.loads(checkpoint_v1.BLOB.read_bytes())


def test_a_groups_snapshot_holds_every_integer_field_of_group_agg() -> None:
    # GroupCounts mirrors GroupAgg's counts and sums by hand: a field added to one and not
    # the other (or not copied in snapshot/from_snapshot) would vanish at every restore.
    # Its fields as declared (compiled with mypyc, the class has no __slots__ attribute).
    source = ast.parse((Path(__file__).resolve().parents[2] / "kpi" / "aggregates.py").read_text())
    cls = next(n for n in source.body if isinstance(n, ast.ClassDef) and n.name == "GroupAgg")
    slots = next(ast.literal_eval(n.value) for n in cls.body if isinstance(n, ast.Assign) and n.targets[0].id == "__slots__")
    fresh = GroupAgg()
    integer_fields = [name for name in slots if isinstance(getattr(fresh, name), int)]
    assert len(integer_fields) == 14  # the sketches (None until a value) are not among them
    assert list(GroupCounts.__struct_fields__) == integer_fields
    g = GroupAgg()
    for i, name in enumerate(integer_fields):
        setattr(g, name, 1000 + i)  # a distinct value per field, so a swap shows too
    snapshot = g.snapshot()
    assert [getattr(snapshot.counts, name) for name in integer_fields] == [1000 + i for i in range(14)]
    restored = GroupAgg.from_snapshot(snapshot)
    assert [getattr(restored, name) for name in integer_fields] == [1000 + i for i in range(14)]


def _paths(obj, path=()):
    """Every (path, value) of a JSON value, the root included."""
    yield path, obj
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _paths(v, (*path, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _paths(v, (*path, i))


def _replaced(obj, path, value):
    """A copy of `obj` with the value at `path` replaced (or deleted, for _DELETE)."""
    if not path:
        return value
    head, rest = path[0], path[1:]
    out = dict(obj) if isinstance(obj, dict) else list(obj)
    if value is _DELETE and not rest:
        del out[head]
    else:
        out[head] = _replaced(obj[head], rest, value)
    return out


_DELETE = object()
_JUNK = st.one_of(
    st.just(_DELETE), st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=True),
    st.text(max_size=5), st.lists(st.integers(-3, 3), max_size=3), st.just({}), st.just([[]]), st.just(["x", 1]),
)
_V1 = state.loads(checkpoint_v1.BLOB.read_bytes())["engine"]
_V1_PATHS = [p for p, _ in _paths(_V1)]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(picks=st.lists(st.tuples(st.integers(0, len(_V1_PATHS) - 1), _JUNK), min_size=1, max_size=3))
def test_a_corrupt_state_raises_state_error_and_nothing_else(picks) -> None:
    # Any part of a real checkpoint replaced by junk (or deleted): restore_engine returns an
    # engine or raises StateError; a KeyError, TypeError or ValueError would escape the
    # worker's restore (which catches StateError only).
    corrupt = _V1
    for index, junk in picks:
        path = _V1_PATHS[index]
        try:
            corrupt = _replaced(corrupt, path, junk)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier pick removed this path
    try:
        state.restore_engine(corrupt, checkpoint_v1.CONFIG, checkpoint_v1.SPECS)
    except state.StateError:
        pass


@pytest.mark.parametrize(
    ("raised", "escapes"),
    [(KeyError, False), (IndexError, False), (TypeError, False), (ValueError, False), (OverflowError, False),
     (MemoryError, True), (RecursionError, True), (AssertionError, True), (NotImplementedError, True)],
)
def test_only_what_bad_input_raises_becomes_state_error(monkeypatch, raised, escapes) -> None:
    # Parts that do not fit together make the classes raise lookup, type and value errors:
    # one corrupt state. Running out of memory or a bug in the restore is not a corrupt
    # checkpoint, and as StateError it would reset the partition without a trace.
    class FailingEngine:
        @staticmethod
        def from_snapshot(*args):
            raise raised("from the restore")

    monkeypatch.setattr(state, "Engine", FailingEngine)
    if escapes:
        with pytest.raises(raised, match="from the restore"):
            state.restore_engine(_V1, checkpoint_v1.CONFIG, checkpoint_v1.SPECS)
    else:
        with pytest.raises(state.StateError, match=f"corrupt state: {raised.__name__}: .*from the restore"):
            state.restore_engine(_V1, checkpoint_v1.CONFIG, checkpoint_v1.SPECS)


@given(blob=st.one_of(st.binary(max_size=64), st.binary(max_size=64).map(lambda b: zlib.compress(b))))
def test_undecodable_bytes_raise_state_error(blob: bytes) -> None:
    try:
        restored = state.loads(blob)
    except state.StateError:
        return
    with pytest.raises(state.StateError):  # valid JSON, but no engine state
        state.restore_engine(restored, CONFIG, SPECS)


def test_corrupt_views_and_counters_raise_state_error() -> None:
    engine = Engine(CONFIG, series=SPECS)
    engine.process_raw(json.dumps({"event_id": "e", "type": "customer.active", "ts": DAY0, "customer_id": "c"}).encode())
    encoded = state.encode_view(engine.series[0].view(0, engine.series[0].index(DAY0)))
    assert state.decode_view(encoded).flows.active.count() == 1
    for bad in (None, [], {"a": 1}, [*encoded[:2], "x", *encoded[3:]], encoded[:-1]):
        with pytest.raises(state.StateError):
            state.decode_view(bad)
    hll = [*encoded[:2], [*encoded[2][:8], [1, "00"], *encoded[2][9:]], *encoded[3:]]  # 1 register, not 2^14
    with pytest.raises(state.StateError, match="registers"):
        state.decode_view(hll)
    with pytest.raises(state.StateError):
        state.add_stats(engine.stats, [1, 2, "three", {}, 0, 0])
