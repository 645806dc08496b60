"""Durable state with fake Kafka: restore outcomes, checkpoint outcomes, commits only after the ack.

The proof against a real broker (kill -9 and restart, equal to replay) is
tests/streams/test_reliability.py; these pin each rule of `CheckpointStore` on its own.
"""

from __future__ import annotations

import asyncio

import pytest

from kpi import state
from kpi.partial import TP
from streams.settings import Settings
from streams.worker.checkpoints import CheckpointStore, checkpoint_key
from streams.worker.engines import PartitionEngines
from streams.worker.first_offsets import FirstOffsets
from tests.streams.worker.fakes import NOW, FakeCommitter, FakeProducer, FakeReader, Rec, seek_back_target, survey

S0, S1, S2 = TP("surveys", 0), TP("surveys", 1), TP("surveys", 2)


def engines() -> PartitionEngines:
    return PartitionEngines(Settings(evaluation_interval="1s"), lambda d: None, clock=lambda: NOW)


def checkpoint_of(tp: TP, events: int) -> bytes:
    """A real checkpoint of `events` surveys at offsets 0..events-1 (so its offset is `events`)."""
    e = engines()
    for offset in range(events):
        e.handle(tp.topic, tp.partition, offset, survey(f"{tp.partition}-{offset}", NOW - 30 + offset))
    made = e.checkpoint(tp)
    assert made is not None and made.offset == events
    return made.blob


def store(
    reader: FakeReader | None = None, producer: FakeProducer | None = None, committer: FakeCommitter | None = None, durable: bool = True,
) -> CheckpointStore:
    producer = producer or FakeProducer()
    return CheckpointStore(
        Settings(evaluation_interval="1s"), engines(), reader or FakeReader(), producer,
        committer or FakeCommitter(producer.log), FirstOffsets(), durable,
    )


def test_each_assigned_partition_is_restored_started_empty_or_reset() -> None:
    saved = state.loads(checkpoint_of(TP("surveys", 3), 2))
    del saved["offset"]
    no_offset = state.dumps(saved)  # a good engine state without its offset: unusable, not a crash
    reader = FakeReader({S0: checkpoint_of(S0, 3), S2: b"garbage", TP("surveys", 3): no_offset})
    s = store(reader)
    asyncio.run(s.on_assigned([S0, S1, S2, TP("surveys", 3), TP("elsewhere", 0)]))
    # By hand: S0 has a good checkpoint, S1 none, S2 and surveys-3 unusable ones; "elsewhere"
    # is not an input topic and is ignored.
    assert s.restores == {"restored": 1, "empty": 1, "reset": 2}
    assert s.restored == {S0, S1, S2, TP("surveys", 3)}
    assert sorted(s.engines.engines) == [S0] and s.engines.next_offsets == {S0: 3}
    assert reader.asked == [[S0, S1, S2, TP("surveys", 3)]]


def test_a_restored_partitions_first_batch_is_checked_against_its_checkpoints_offset_once() -> None:
    """The bookkeeping the batch consumer's seek-back reads, fed by the restores."""
    s = store(FakeReader({S0: checkpoint_of(S0, 3)}))
    first = s._first_offsets
    asyncio.run(s.on_assigned([S0, S1]))
    assert seek_back_target(first, S0) == 3 and seek_back_target(first, S1) is None  # S1 started empty
    # The committed offset was behind the checkpoint: offsets 1 and 2 come again, and are skipped.
    batch = [Rec(1, survey("0-1", NOW - 29)), Rec(2, survey("0-2", NOW - 28))]
    assert first.seek_back_to(S0, batch[0].offset) is None
    assert s.engines.handle_batch("surveys", 0, batch) == "skipped"
    first.handed_over(S0, batch[-1].offset)
    assert seek_back_target(first, S0) == 3  # nothing reached the restored offset yet
    assert s.engines.handle_batch("surveys", 0, [Rec(3, survey("0-3", NOW - 27))]) == "accepted"
    first.handed_over(S0, 3)
    assert seek_back_target(first, S0) is None  # only the first batch is checked


def test_a_revoked_partition_is_forgotten_and_a_kept_one_keeps_its_state() -> None:
    reader = FakeReader({S0: checkpoint_of(S0, 3), S1: checkpoint_of(S1, 2)})
    s = store(reader)
    asyncio.run(s.on_assigned([S0, S1]))
    s.engines.handle("surveys", 0, 3, survey("0-3", NOW - 20))
    asyncio.run(s.on_assigned([S0]))  # S1 moved to another worker
    assert s.restored == {S0} and sorted(s.engines.engines) == [S0]
    assert seek_back_target(s._first_offsets, S1) is None
    assert s.engines.next_offsets[S0] == 4  # kept in memory, not restored over
    assert reader.asked == [[S0, S1]]


def test_a_failing_checkpoint_read_stops_the_restore() -> None:
    s = store(FakeReader(error=ConnectionError("broker away")))
    with pytest.raises(ConnectionError):
        asyncio.run(s.ensure_restored([S0]))
    assert s.restored == set() and s.restores == {}


def test_without_durability_nothing_is_read_or_written() -> None:
    reader, producer = FakeReader({S0: checkpoint_of(S0, 3)}), FakeProducer()
    s = store(reader, producer, durable=False)
    asyncio.run(s.on_assigned([S0]))
    s.engines.handle("surveys", 0, 0, survey("a", NOW - 5))
    asyncio.run(s.checkpoint())
    assert s.restored == {S0} and reader.asked == [] and producer.log == [] and s.checkpoints == {}


def _with_changes(s: CheckpointStore, *tps: TP) -> None:
    for tp in tps:
        s.engines.handle(tp.topic, tp.partition, 10, survey(f"{tp.partition}-x", NOW - 5))


def test_a_checkpoint_is_written_and_its_offset_committed_only_after_the_ack() -> None:
    producer = FakeProducer()
    s = store(producer=producer)
    _with_changes(s, S0)

    async def go() -> None:
        producer.acks = asyncio.Event()
        task = asyncio.create_task(s.checkpoint())
        await asyncio.sleep(0.05)
        assert producer.log == ["send:surveys/0"]  # sent, not acknowledged: nothing committed
        producer.acks.set()
        await task

    asyncio.run(go())
    assert producer.log == ["send:surveys/0", "acked:surveys/0", "commit:surveys/0@11"]
    ((topic, key, blob),) = producer.sent
    assert (topic, key) == ("kpi-monitor-checkpoints", checkpoint_key(S0)) and key == b"surveys/0"
    assert state.loads(blob)["offset"] == 11  # the record at offset 10 is in the state
    assert s.checkpoints == {"written": 1} and s.checkpoint_bytes == len(blob)
    asyncio.run(s.checkpoint())  # nothing changed since
    assert s.checkpoints == {"written": 1}


def test_a_checkpoint_over_the_limit_is_not_written() -> None:
    producer = FakeProducer()
    s = store(producer=producer)
    s.max_bytes = 10  # every real checkpoint is larger
    _with_changes(s, S0)
    asyncio.run(s.checkpoint())
    assert s.checkpoints == {"too_large": 1} and producer.log == []


def test_a_failed_write_stops_the_round_and_commits_only_what_was_acknowledged(caplog) -> None:
    producer = FakeProducer()
    producer.fail_on = {checkpoint_key(S1)}
    s = store(producer=producer)
    _with_changes(s, S0, S1, S2)
    asyncio.run(s.checkpoint())
    # Sorted: S0 written, S1 fails, S2 not tried (the broker is likely away).
    assert producer.log == ["send:surveys/0", "acked:surveys/0", "send:surveys/1", "commit:surveys/0@11"]
    assert s.checkpoints == {"written": 1, "failed": 1}
    assert s.engines.dirty_partitions() == [S1, S2]  # both retried next interval
    assert "writing the checkpoint failed: ConnectionError" in caplog.text


def test_a_write_that_never_returns_times_out_as_failed() -> None:
    producer = FakeProducer()
    producer.hang = True
    s = store(producer=producer)
    s.write_timeout_seconds = 0.05
    _with_changes(s, S0)
    asyncio.run(s.checkpoint())
    assert s.checkpoints == {"failed": 1} and s.engines.dirty_partitions() == [S0]


def test_a_failed_commit_is_logged_not_raised(caplog) -> None:
    producer = FakeProducer()
    s = store(producer=producer, committer=FakeCommitter(producer.log, error=RuntimeError("not the coordinator")))
    _with_changes(s, S0)
    asyncio.run(s.checkpoint())
    assert s.checkpoints == {"written": 1}
    assert "committing offsets after the checkpoint failed: RuntimeError: not the coordinator" in caplog.text
