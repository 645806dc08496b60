"""The batch consumer's per-batch rules, driven with a fake Faust consumer and fake hooks.

`BatchConsumer._drain_messages` is run on a stand-in holding just what it reads of Faust's
consumer; Faust's own fetching, rebalancing and seeking are proven with the real broker
(tests/streams/test_worker.py, test_reliability.py: kill -9 and restart equal to replay).
"""

from __future__ import annotations

import asyncio
from collections import defaultdict, deque
from types import SimpleNamespace

import pytest

from kpi.partial import TP
from streams.worker.batching import BatchConsumer, BatchHooks, unread
from streams.worker.first_offsets import FirstOffsets
from tests.streams.worker.fakes import Rec, seek_back_target

S0, S1 = TP("surveys", 0), TP("surveys", 1)


def offsets(records) -> list[int]:
    return [r.offset for r in records]


def test_unread_keeps_records_at_or_after_the_read_offset() -> None:
    batch = [Rec(2), Rec(3), Rec(4)]
    assert offsets(unread(batch, None)) == [2, 3, 4]
    assert offsets(unread(batch, 3)) == [3, 4]  # as Faust's stock loop: offset >= read offset
    assert offsets(unread(batch, 5)) == []


def test_first_offsets_seek_back_once_then_continue_past_a_gap() -> None:
    first = FirstOffsets()
    assert first.seek_back_to(S0, 8) is None  # never restored: nothing to check
    first.expect(S0, 5)
    assert first.seek_back_to(S0, 5) is None and first.seek_back_to(S0, 3) is None  # at or before: fine
    assert first.seek_back_to(S0, 8) == 5
    assert first.seek_back_to(S0, 8) is None  # sent back once already: offsets 5..7 are gone
    first.expect(S0, 5)  # restored again (a later assignment): one more seek allowed
    assert first.seek_back_to(S0, 8) == 5
    first.forget(S0)
    assert first.seek_back_to(S0, 8) is None


def test_the_hooks_need_the_seek_back_bookkeeping_the_restores_feed() -> None:
    # No default instance: a consumer holding its own FirstOffsets, which no restore ever
    # fills, would silently never seek back.
    async def ensure_restored() -> None:
        pass

    with pytest.raises(TypeError, match="first_offsets"):
        BatchHooks(lambda topic, partition, records: None, lambda tp: True, ensure_restored)  # type: ignore[call-arg]


class FakeFaustConsumer:
    """What `_drain_messages` reads of Faust's consumer. `fetches`: the batches each fetch
    returns, in order; when they run out the consumer stops."""

    consumer_stopped_errors = (ConnectionError,)

    def __init__(self, hooks: BatchHooks, fetches: list[dict]) -> None:
        self.app = SimpleNamespace(batch_hooks=hooks, consumer_generation_id=1)
        self.transport = SimpleNamespace(app=SimpleNamespace(should_stop=False))
        self._stopped = asyncio.Event()
        self._read_offset: dict = defaultdict(lambda: None)
        self._buffered_partitions: set = set()
        self._fetches = deque(fetches)
        self.should_stop = False
        self.flow_active = True
        self.seeks: list[tuple[TP, int]] = []

    async def _wait_next_records(self, timeout: float):
        if not self._fetches:
            self._stopped.set()
            return {}, None
        return self._fetches.popleft(), None

    async def seek(self, tp, offset: int) -> None:
        self.seeks.append((tp, offset))

    def drain(self) -> None:
        asyncio.run(BatchConsumer._drain_messages(self, SimpleNamespace(_stopped=asyncio.Event())))  # type: ignore[arg-type]


class Worker:
    """Fake hooks: records what was handed over; `restore` is what ensure_restored installs."""

    def __init__(self, restored: set[TP] = frozenset(), restore: dict[TP, int | None] | None = None) -> None:
        self.handled: list[tuple[str, int, list[int]]] = []
        self.restored = set(restored)
        self.restore = dict(restore or {})
        self.restores = 0
        self.hooks = BatchHooks(self.handle, lambda tp: tp in self.restored, self.ensure_restored, FirstOffsets())
        self.on_restore = lambda: None

    def handle(self, topic: str, partition: int, records) -> str:
        self.handled.append((topic, partition, offsets(records)))
        return "accepted"

    async def ensure_restored(self) -> None:
        self.restores += 1
        self.on_restore()
        for tp, offset in self.restore.items():
            self.restored.add(tp)
            if offset is not None:
                self.hooks.first_offsets.expect(tp, offset)


def recs(*numbers: int) -> list[Rec]:
    return [Rec(n) for n in numbers]


def test_a_partition_is_restored_before_its_first_batch_and_a_fetch_past_its_state_seeks_back() -> None:
    w = Worker(restore={S0: 5})
    # Fetched from 8: the committed offset ran ahead of the checkpoint (state ends at 5).
    consumer = FakeFaustConsumer(w.hooks, [{S0: recs(8, 9)}, {S0: recs(5, 6, 7, 8, 9)}, {S0: recs(10)}])
    consumer.drain()
    assert w.restores == 1
    assert consumer.seeks == [(S0, 5)]
    assert w.handled == [("surveys", 0, [5, 6, 7, 8, 9]), ("surveys", 0, [10])]
    assert consumer._read_offset[S0] == 10 and seek_back_target(w.hooks.first_offsets, S0) is None


def test_records_gone_by_retention_are_skipped_after_one_seek_back(caplog) -> None:
    w = Worker(restore={S0: 5})
    consumer = FakeFaustConsumer(w.hooks, [{S0: recs(8, 9)}, {S0: recs(8, 9)}])
    consumer.drain()
    assert consumer.seeks == [(S0, 5)]
    assert w.handled == [("surveys", 0, [8, 9])]
    assert "offsets 5..7 are gone (retention)" in caplog.text


def test_only_a_batch_that_reaches_the_restored_offset_ends_the_check() -> None:
    w = Worker(restore={S0: 5})
    consumer = FakeFaustConsumer(w.hooks, [{S0: recs(3, 4)}, {S0: recs(7)}])
    consumer.drain()
    # 3 and 4 are re-read records (the engines skip them); the check stays on, so the gap
    # before 7 is still caught.
    assert w.handled == [("surveys", 0, [3, 4])] and consumer.seeks == [(S0, 5)]


def test_records_faust_already_read_are_dropped_and_others_partitions_go_on() -> None:
    w = Worker(restored={S0, S1})
    consumer = FakeFaustConsumer(w.hooks, [{S0: recs(2, 3, 4), S1: recs(0)}, {S0: recs(1, 2)}])
    consumer._read_offset[S0] = 3
    consumer.drain()
    assert w.handled == [("surveys", 0, [3, 4]), ("surveys", 1, [0])]  # then 1, 2 all read: nothing


def test_a_rebalance_during_the_restore_drops_the_batch() -> None:
    w = Worker(restore={S0: None})
    consumer = FakeFaustConsumer(w.hooks, [{S0: recs(0, 1)}])

    def rebalance() -> None:
        consumer.app.consumer_generation_id = 2

    w.on_restore = rebalance
    consumer.drain()
    assert w.restores == 1 and w.handled == []  # re-fetched after the rebalance
    assert consumer._read_offset[S0] is None
