"""In-memory stand-ins for the worker's Kafka protocols (streams/worker/checkpoints.py,
streams/worker/exchange.py), for fast unit tests. The real adapters (streams/worker/kafka.py)
are proven against the real broker by tests/streams/test_worker.py and its neighbours."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Mapping, Sequence

import orjson

from kpi.partial import TP
from streams.worker.first_offsets import FirstOffsets

NOW = 1_795_000_000.0


def survey(event_id: str, ts: float, score: int = 9, customer: str = "c1") -> bytes:
    return orjson.dumps({"event_id": event_id, "type": "survey.nps", "ts": ts, "customer_id": customer, "score": score})


class Rec:
    """A consumer record: what the engines and the batch consumer read of one."""

    def __init__(self, offset: int, value: bytes | None = b"") -> None:
        self.offset = offset
        self.value = value

    def __repr__(self) -> str:
        return f"Rec({self.offset})"


class FakeReader:
    """A `CheckpointReader` over a dict; raises `error` instead when given one."""

    def __init__(self, checkpoints: dict[TP, bytes] | None = None, error: Exception | None = None) -> None:
        self.checkpoints = dict(checkpoints or {})
        self.error = error
        self.asked: list[list[TP]] = []

    async def newest(self, partitions: Sequence[TP]) -> dict[TP, bytes]:
        self.asked.append(list(partitions))
        if self.error is not None:
            raise self.error
        return {tp: blob for tp, blob in self.checkpoints.items() if tp in partitions}


class FakeProducer:
    """A `RecordSender` and `RecordPublisher`. `acks`, when set, holds every send until it is
    set (the broker's acknowledgement); `fail_on` names keys whose send raises; `hang` never returns."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes, bytes]] = []  # acknowledged (send_and_wait) or queued (send)
        self.acks: asyncio.Event | None = None
        self.fail_on: set[bytes] = set()
        self.hang = False
        self.log: list[str] = []  # "send:<key>" / "acked:<key>", in order, shared with FakeCommitter

    async def _deliver(self, topic: str, key: bytes, value: bytes) -> None:
        self.log.append(f"send:{key.decode()}")
        if self.hang:
            await asyncio.sleep(3600)
        if key in self.fail_on:
            raise ConnectionError("broker away")
        if self.acks is not None:
            await self.acks.wait()
        self.sent.append((topic, key, value))
        self.log.append(f"acked:{key.decode()}")

    async def send_and_wait(self, topic: str, key: bytes, value: bytes) -> None:
        await self._deliver(topic, key, value)

    async def send(self, topic: str, key: bytes, value: bytes) -> None:
        await self._deliver(topic, key, value)


class FakeCommitter:
    """An `OffsetCommitter` that records the offsets it was given (or raises `error`)."""

    def __init__(self, log: list[str] | None = None, error: Exception | None = None) -> None:
        self.commits: list[dict[TP, int]] = []
        self.log = log if log is not None else []
        self.error = error

    async def commit(self, offsets: Mapping[TP, int]) -> None:
        self.log.append("commit:" + ",".join(f"{t}/{p}@{o}" for (t, p), o in sorted(offsets.items())))
        if self.error is not None:
            raise self.error
        self.commits.append(dict(offsets))


class FakeGroup:
    """A `GroupMembership`: set `assigned`, `generation_id` and `partitions` as a test needs."""

    def __init__(self, assigned: set[TP] | None = None, generation_id: int | None = 1, partitions: set[TP] | None = None) -> None:
        self.assigned = set(assigned or ())
        self.generation_id = generation_id
        self.partitions = partitions

    def assignment(self) -> set[TP]:
        return set(self.assigned)

    def generation(self) -> int | None:
        return self.generation_id

    def all_partitions(self) -> set[TP] | None:
        return self.partitions


def seek_back_target(first_offsets: FirstOffsets, tp: TP) -> int | None:
    """Where a fetch of `tp` from far past its restored state would be sent back to (None:
    its first batch is not checked any more), asked of a copy so the original's one
    seek-back stays unspent."""
    return copy.deepcopy(first_offsets).seek_back_to(tp, 2**62)
