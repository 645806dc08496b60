"""Durable partition state: restore on assignment, checkpoint, then commit the offsets.

Why not Faust tables: a table's changelog write is not atomic with the offset commit, and
Faust's exactly-once mode has open bugs (../shared/notes). Here a checkpoint record holds
a partition's whole engine state *and* the offset it reflects, so the two cannot
disagree. Recovery installs the state and drops every re-read record below that offset;
consumer-group offsets are committed only after the checkpoint is acknowledged, so they
never run ahead of it (and if one ever did, the batch consumer seeks back: `FirstOffsets`).
The event-id dedup set is part of the state, so a duplicate stays a duplicate across a crash.

The checkpoint topic is compacted and keyed by "<topic>/<partition>": the newest checkpoint
of each partition survives, readable by whichever worker the group assigns the partition to.
`CheckpointStore` reaches Kafka only through the three small protocols below
(streams/worker/kafka.py implements them), so it is unit-tested with fakes.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol

from kpi.partial import TP
from streams.settings import Settings
from streams.worker.engines import PartitionEngines
from streams.worker.first_offsets import FirstOffsets

log = logging.getLogger("kpi_monitor.worker")

CHECKPOINT_OUTCOMES = ("written", "failed", "too_large")
RESTORE_OUTCOMES = ("restored", "empty", "reset")


class CheckpointReader(Protocol):
    """Reads the checkpoint topic."""

    async def newest(self, partitions: Sequence[TP]) -> dict[TP, bytes]:
        """The newest checkpoint of each partition that has one (a tombstone counts as none).

        Raises on any failure to read the whole topic (broker away, topic missing, timeout).
        """
        ...


class RecordSender(Protocol):
    """Writes records to a topic."""

    async def send_and_wait(self, topic: str, key: bytes, value: bytes) -> None:
        """Write one record and wait for the broker's acknowledgement; raises if it fails."""
        ...


class OffsetCommitter(Protocol):
    """Commits consumer-group offsets: partition -> the first offset not yet processed."""

    async def commit(self, offsets: Mapping[TP, int]) -> None:
        """Commit the offsets of the partitions still assigned to this worker; raises on failure."""
        ...


def checkpoint_key(tp: TP) -> bytes:
    """The checkpoint topic's record key of a partition: b"<topic>/<partition>"."""
    return f"{tp[0]}/{tp[1]}".encode()


class CheckpointStore:
    """The durable state of the partitions this worker owns.

    Holds `restored` (partitions whose checkpointed state is installed in this assignment)
    and counters for /metrics: `checkpoints` (outcome -> n, outcomes `CHECKPOINT_OUTCOMES`),
    `restores` (outcome -> n, `RESTORE_OUTCOMES`), `checkpoint_bytes` (size of the last
    checkpoint written). With `durable` False (the stock agent path) nothing is read or
    written: partitions start empty and are never checkpointed.
    """

    def __init__(
        self,
        settings: Settings,
        engines: PartitionEngines,
        reader: CheckpointReader,
        sender: RecordSender,
        committer: OffsetCommitter,
        first_offsets: FirstOffsets,
        durable: bool = True,
    ) -> None:
        self.settings = settings
        self.engines = engines
        self._reader = reader
        self._sender = sender
        self._committer = committer
        self._first_offsets = first_offsets
        self.durable = durable
        self.inputs = settings.topics.inputs()
        self.topic = settings.checkpoint_topic()
        self.max_bytes = settings.state.max_checkpoint_bytes
        # A broker outage must not hold the lock (and with it a revoke or a shutdown) for the
        # producer's 20-minute request timeout.
        self.write_timeout_seconds = settings.session_timeout_seconds() / 2
        self.checkpoints: Counter = Counter()
        self.restores: Counter = Counter()
        self.checkpoint_bytes = 0
        self.restored: set[TP] = set()
        self._lock = asyncio.Lock()
        self._restore_lock = asyncio.Lock()

    def is_restored(self, tp: TP) -> bool:
        """Whether `tp`'s state is installed in this assignment (records may reach its engine)."""
        return tp in self.restored

    async def on_assigned(self, assigned: Iterable[TP]) -> None:
        """A new assignment: forget revoked partitions, restore the new ones.

        Kept partitions keep their in-memory state: nobody else owned them meanwhile.
        Raises what `ensure_restored` raises.
        """
        mine = {TP(tp[0], tp[1]) for tp in assigned if tp[0] in self.inputs}
        for tp in [tp for tp in self.engines.engines if tp not in mine]:
            self.engines.drop(tp)
            self._first_offsets.forget(tp)
        self.restored &= mine
        await self.ensure_restored(mine)  # eagerly, so partials cover partitions without new records

    async def ensure_restored(self, tps: Iterable[TP]) -> None:
        """Install the checkpointed state of partitions not yet restored in this assignment.

        Also called by the batch consumer before it hands over a partition's first batch,
        so no record can reach an engine that a restore would then replace. Counts each
        partition's outcome: restored, empty (no checkpoint), reset (checkpoint unusable).
        Raises whatever the reader raises: without its checkpoint a partition cannot resume
        correctly, so the worker stops rather than count from an empty state (its
        supervisor restarts it).
        """
        async with self._restore_lock:
            new = sorted(tp for tp in tps if tp not in self.restored)
            if not new:
                return
            if not self.durable:
                self.restored.update(new)
                return
            started = time.monotonic()
            try:
                blobs = await self._reader.newest(new)
            except Exception as exc:
                log.error("could not read checkpoints from %s: %s: %s", self.topic, type(exc).__name__, exc)
                raise
            for tp in new:
                offset = self.engines.restore(tp, blobs.get(tp))
                if offset is None:
                    self._first_offsets.forget(tp)
                else:
                    self._first_offsets.expect(tp, offset)
                outcome = "restored" if offset is not None else ("reset" if tp in blobs else "empty")
                self.restores[outcome] += 1
            self.restored.update(new)
            log.info(
                "%d partitions assigned: %d restored from checkpoints in %.2f s",
                len(new), sum(1 for tp in new if tp in self.engines.engines), time.monotonic() - started,
            )

    async def checkpoint(self) -> None:
        """Write a checkpoint of every partition changed since its last one, then commit their offsets.

        One partition at a time (the event loop runs batches in between). A checkpoint larger
        than `state.max_checkpoint_bytes` is not written (`too_large`). A failed or timed-out
        write (`failed`, after half the session timeout) stops this round: the broker is likely
        away, and the partition is retried next interval. Only acknowledged checkpoints have
        their offsets committed. Never raises on Kafka failures (they are logged and counted).
        """
        if not self.durable:
            return
        async with self._lock:
            offsets: dict[TP, int] = {}
            for tp in self.engines.dirty_partitions():
                made = self.engines.checkpoint(tp)
                if made is None:
                    continue
                blob, offset = made
                if len(blob) > self.max_bytes:
                    self.checkpoints["too_large"] += 1
                    log.error("%s-%d: checkpoint of %d bytes exceeds state.max_checkpoint_bytes=%d; not written", tp[0], tp[1], len(blob), self.max_bytes)
                    continue
                try:
                    await asyncio.wait_for(self._sender.send_and_wait(self.topic, checkpoint_key(tp), blob), timeout=self.write_timeout_seconds)
                except Exception as exc:  # noqa: BLE001 - retried at the next interval
                    self.checkpoints["failed"] += 1
                    self.engines.mark_dirty(tp)  # the partitions after it were never taken: still dirty
                    log.warning("%s-%d: writing the checkpoint failed: %s: %s; retrying next interval", tp[0], tp[1], type(exc).__name__, exc or "timed out")
                    break  # the broker is likely away: do not wait once per partition
                self.checkpoints["written"] += 1
                self.checkpoint_bytes = len(blob)
                offsets[tp] = offset
            if offsets:
                await self._commit(offsets)

    async def _commit(self, offsets: dict[TP, int]) -> None:
        """Commit the group offsets the checkpoints reflect (never beyond them)."""
        try:
            await self._committer.commit(offsets)
        except Exception as exc:  # noqa: BLE001 - a later commit covers it; recovery seeks to the checkpoint anyway
            log.warning("committing offsets after the checkpoint failed: %s: %s", type(exc).__name__, exc)
