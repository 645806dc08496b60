"""The worker's core without Faust or Kafka: per-partition engines, checkpoints, the future guard.

The end-to-end proofs run against a real broker (test_worker.py, test_reliability.py); these
pin the rules one function at a time. The seek-back check of a restored partition's first
batch moved to the batch consumer's hooks (tests/streams/worker/test_checkpoints.py).
"""

from __future__ import annotations

import orjson

from streams.settings import Settings
from streams.worker.engines import DeadLetter, PartitionEngines

NOW = 1_795_000_000.0


def survey(event_id: str, ts: float, score: int = 9, customer: str = "c1") -> bytes:
    return orjson.dumps({"event_id": event_id, "type": "survey.nps", "ts": ts, "customer_id": customer, "score": score})


def processor(dead: list[DeadLetter] | None = None) -> PartitionEngines:
    sink = dead.append if dead is not None else (lambda d: None)
    return PartitionEngines(Settings(evaluation_interval="1s"), sink, clock=lambda: NOW)


def nps_rows(p: PartitionEngines, window: str = "5m") -> dict:
    return {kpi: v for kpi, labels, v in p.evaluate().snapshot().windows[window] if not labels and kpi.startswith("nps")}


def test_each_partition_has_its_own_engine_and_the_partial_merges_them() -> None:
    p = processor()
    assert p.handle("surveys", 0, 0, survey("a", NOW - 10, 10)) == "accepted"
    assert p.handle("surveys", 1, 0, survey("b", NOW - 10, 0, customer="c2")) == "accepted"
    assert sorted(p.engines) == [("surveys", 0), ("surveys", 1)]
    # By hand: one promoter, one detractor -> NPS 0 on 2 responses.
    assert nps_rows(p) == {"nps": 0.0, "nps_responses": 2}
    assert p.partial.partitions == [("surveys", 0), ("surveys", 1)]


def test_an_event_from_a_clock_far_ahead_is_dead_lettered_and_moves_nothing() -> None:
    dead: list[DeadLetter] = []
    p = processor(dead)
    assert p.handle("surveys", 0, 0, survey("a", NOW - 10)) == "accepted"
    assert p.handle("surveys", 0, 1, survey("future", NOW + 3600)) == "future_timestamp"
    assert p.handle("surveys", 0, 2, survey("b", NOW - 5, 0, customer="c2")) == "accepted"  # not late
    assert [(d.reason, d.offset) for d in dead] == [("future_timestamp", 1)]
    assert p.rejected == {"future_timestamp": 1}
    assert p.watermark() == NOW - 5


def test_a_restored_partition_skips_what_its_checkpoint_already_holds() -> None:
    p = processor()
    for offset in range(3):
        p.handle("surveys", 0, offset, survey(f"e{offset}", NOW - 30 + offset))
    blob, offset = p.checkpoint(("surveys", 0))
    assert offset == 3 and p.checkpoint(("surveys", 0)) is None  # nothing changed since

    q = processor()  # a new worker takes the partition over
    assert q.restore(("surveys", 0), blob) == 3
    # The committed offset was behind the checkpoint: offsets 1 and 2 come again.
    assert q.handle("surveys", 0, 1, survey("e1", NOW - 29)) == "skipped"
    assert q.handle("surveys", 0, 2, survey("e2", NOW - 28)) == "skipped"
    assert q.handle("surveys", 0, 3, survey("e3", NOW - 27, 0, customer="c2")) == "accepted"
    assert q.skipped_already_in_state == 2
    assert nps_rows(q) == {"nps": 50.0, "nps_responses": 4}  # 3 promoters, 1 detractor: 100*(3-1)/4


def test_an_unusable_checkpoint_starts_the_partition_empty() -> None:
    p = processor()
    assert p.restore(("surveys", 0), b"garbage") is None
    assert p.state_resets == 1 and ("surveys", 0) not in p.engines
    other = PartitionEngines(Settings(evaluation_interval="1s", grace="10m"), lambda d: None, clock=lambda: NOW)
    other.handle("surveys", 0, 0, survey("a", NOW))
    blob, _ = other.checkpoint(("surveys", 0))
    assert p.restore(("surveys", 0), blob) is None  # built with another grace: not restored
    assert p.state_resets == 2


def test_a_revoked_partition_is_forgotten() -> None:
    p = processor()
    p.handle("surveys", 0, 0, survey("a", NOW - 10))
    p.drop(("surveys", 0))
    assert p.engines == {} and p.dirty_partitions() == [] and p.evaluate().views == {}


class _Flaky:
    """An engine with a bug: processing one event raises. (A wrapper, since the compiled
    Engine's methods cannot be patched.)"""

    def __init__(self, engine) -> None:
        self._engine = engine

    def __getattr__(self, name: str):
        return getattr(self._engine, name)

    def process_raw(self, raw: bytes, not_after: float = float("inf")):
        if b'"boom"' in raw:
            raise IndexError("string index out of range")
        return self._engine.process_raw(raw, not_after)


def test_a_record_whose_processing_raises_is_dead_lettered_and_the_partition_goes_on(caplog) -> None:
    """The last line of defence against a bug: not an exception out of the batch (Kafka would
    redeliver the record forever), but a dead letter with the error."""
    dead: list[DeadLetter] = []
    p = processor(dead)
    assert p.handle("surveys", 0, 0, survey("a", NOW - 10)) == "accepted"
    p.engines[("surveys", 0)] = _Flaky(p.engines[("surveys", 0)])
    records = [survey("boom", NOW - 9), survey("b", NOW - 8, 0, customer="c2")]
    assert p.handle_batch("surveys", 0, [type("R", (), {"offset": 1 + i, "value": v})() for i, v in enumerate(records)]) == "accepted"
    assert [(d.reason, d.offset, d.detail) for d in dead] == [("internal_error", 1, "IndexError: string index out of range")]
    assert p.rejected == {"internal_error": 1}
    assert p.next_offsets[("surveys", 0)] == 3
    assert "internal_error" in caplog.text
