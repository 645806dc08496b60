"""The worker's adapters to Kafka: Faust's producer and consumer, and its own aiokafka clients.

Each class implements the small protocols the worker's parts are written against
(`checkpoints.CheckpointReader`/`RecordSender`/`OffsetCommitter`,
`exchange.GroupMembership`/`RecordPublisher`), so those parts are unit-tested with fakes and
only this module is tested through real brokers (tests/streams/test_worker.py and friends).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import faust

from kpi.partial import TP
from streams.settings import Settings
from streams.worker.checkpoints import checkpoint_key
from streams.worker.clients import keep_consuming, standalone_consumer

log = logging.getLogger("kpi_monitor.worker")

PARTIALS_FETCH_BYTES = 4 * 1024 * 1024


class FaustProducer:
    """Sends through the Faust app's producer (a `RecordSender` and a `RecordPublisher`)."""

    def __init__(self, app: faust.App) -> None:
        self._app = app

    async def send(self, topic: str, key: bytes, value: bytes) -> None:
        """Queue a record; returns before the broker acknowledges it."""
        await self._app.producer.send(topic, key, value, None, None, None)

    async def send_and_wait(self, topic: str, key: bytes, value: bytes) -> None:
        """Write a record and wait for the broker's acknowledgement; raises if it fails."""
        await self._app.producer.send_and_wait(topic, key, value, None, None, None)


class FaustGroup:
    """The Faust app's consumer group as this worker sees it (a `GroupMembership` and an `OffsetCommitter`).

    `partition_counts` (input topic -> partitions) is kept current by `follow_partition_counts`.
    """

    def __init__(self, app: faust.App, settings: Settings) -> None:
        self._app = app
        self.settings = settings
        self.inputs = settings.topics.inputs()
        self.partition_counts: dict[str, int] = {}

    def assignment(self) -> set[TP]:
        """The input partitions assigned to this worker (empty before the consumer starts)."""
        try:
            return {TP(tp.topic, tp.partition) for tp in self._app.consumer.assignment() if tp.topic in self.inputs}
        except Exception:  # noqa: BLE001 - before the consumer starts there is no assignment
            return set()

    def generation(self) -> int | None:
        """The consumer-group generation; None or negative while not in a group."""
        return self._app.consumer_generation_id

    def all_partitions(self) -> set[TP] | None:
        """Every input partition, from cluster metadata (None until it has been read)."""
        if len(self.partition_counts) < len(self.inputs):
            return None
        return {TP(topic, p) for topic in self.inputs for p in range(self.partition_counts[topic])}

    async def follow_partition_counts(self, every_seconds: float = 30.0) -> None:
        """Keep the input topics' partition counts current (partitions can be added); the
        last counts stay valid while the metadata cannot be read. Runs until cancelled."""

        async def refresh(consumer: Any) -> None:
            while True:
                cluster = await consumer._client.fetch_all_metadata()  # noqa: SLF001 - what topics() reads, kept
                for topic in self.inputs:
                    partitions = cluster.partitions_for_topic(topic)
                    if partitions:
                        self.partition_counts[topic] = len(partitions)
                await asyncio.sleep(every_seconds)

        await keep_consuming(self.settings, "reading the input topics' metadata", refresh)

    async def commit(self, offsets: Mapping[TP, int]) -> None:
        """Commit group offsets (partition -> next offset) for the partitions still assigned,
        through Faust's consumer thread. Raises on failure."""
        from aiokafka.structs import OffsetAndMetadata, TopicPartition

        thread = self._app.consumer._thread  # type: ignore[attr-defined]  # Faust's aiokafka consumer thread
        consumer = thread._ensure_consumer()
        assigned = consumer.assignment()
        commit = {TopicPartition(t, p): OffsetAndMetadata(o, "") for (t, p), o in offsets.items() if TopicPartition(t, p) in assigned}
        if commit:
            await thread.call_thread(consumer.commit, commit)

    def consumer_lag(self, next_offsets: Mapping[TP, int]) -> dict[TP, int]:
        """Records not yet processed per assigned partition: the high watermark minus the
        next offset to process (`next_offsets`; absent counts as 0). Empty before the consumer starts."""
        lag: dict[TP, int] = {}
        try:
            assigned = self._app.consumer.assignment()
        except Exception:  # noqa: BLE001 - before the consumer starts there is no assignment
            return lag
        for tp in assigned:
            try:
                highwater = self._app.consumer.highwater(tp)
            except Exception:  # noqa: BLE001
                continue
            if highwater is None:
                continue
            key = TP(tp.topic, tp.partition)
            lag[key] = max(0, highwater - (next_offsets.get(key) or 0))
        return lag

    def kafka_connected(self) -> bool | None:
        """Whether the consumer holds a live broker connection; None before it has started.

        Reads aiokafka's connection table through Faust's consumer thread: private
        attributes, hence the broad except (an upgrade that moves them hides the gauge
        rather than breaking scrapes).
        """
        try:
            conns = list(self._app.consumer._thread._consumer._client._conns.values())  # type: ignore[attr-defined]
            return any(conn.connected() for conn in conns)
        except Exception:  # noqa: BLE001
            return None


class KafkaCheckpointReader:
    """Reads the checkpoint topic with a standalone aiokafka consumer (a `CheckpointReader`)."""

    def __init__(self, settings: Settings, timeout_seconds: float = 60.0) -> None:
        self.settings = settings
        self.timeout_seconds = timeout_seconds

    async def newest(self, partitions: Sequence[TP]) -> dict[TP, bytes]:
        """The newest checkpoint of each wanted partition (absent: none was ever written, or
        the newest record is a tombstone). Reads the whole topic up to its end offsets.

        Raises RuntimeError when the topic does not exist, asyncio.TimeoutError after
        `timeout_seconds`, and aiokafka's errors when the broker cannot be reached.
        """
        from aiokafka import TopicPartition

        settings = self.settings
        keys = {checkpoint_key(tp): tp for tp in partitions}
        found: dict[TP, bytes] = {}
        if not keys:
            return found
        topic = settings.checkpoint_topic()
        consumer = standalone_consumer(
            settings, max_partition_fetch_bytes=settings.state.max_checkpoint_bytes, fetch_max_bytes=settings.state.max_checkpoint_bytes,
        )
        try:
            await consumer.start()
            # Ask for this topic's metadata explicitly (a fresh consumer has none): a checkpoint
            # topic created with several partitions spreads the keys over all of them.
            cluster = await consumer._client.fetch_all_metadata()  # noqa: SLF001 - what topics() reads
            topic_partitions = cluster.partitions_for_topic(topic)
            if not topic_partitions:
                raise RuntimeError(f"checkpoint topic {topic} does not exist")
            tps = [TopicPartition(topic, p) for p in sorted(topic_partitions)]
            consumer.assign(tps)
            await consumer.seek_to_beginning(*tps)
            end = await consumer.end_offsets(tps)
            remaining = {tp for tp in tps if end[tp] > 0}

            async def read() -> None:
                while remaining:
                    batch = await consumer.getmany(timeout_ms=500)
                    for tp, records in batch.items():
                        for r in records:
                            wanted_tp = keys.get(r.key)
                            if wanted_tp is not None:
                                if r.value is None:
                                    found.pop(wanted_tp, None)  # a tombstone: deliberately reset
                                else:
                                    found[wanted_tp] = r.value
                        if records and records[-1].offset + 1 >= end[tp]:
                            remaining.discard(tp)
                    for tp in list(remaining):
                        if await consumer.position(tp) >= end[tp]:
                            remaining.discard(tp)

            await asyncio.wait_for(read(), self.timeout_seconds)
        finally:
            try:
                await consumer.stop()
            except Exception:  # noqa: BLE001 - cleanup after a failed start must not mask its error
                pass
        return found


async def follow_partials(settings: Settings, on_record: Callable[[bytes], None]) -> None:
    """Hand every partial published from now on to `on_record`, through outages, until cancelled."""

    async def read(consumer: Any) -> None:
        async for record in consumer:
            if record.value is not None:
                on_record(record.value)

    await keep_consuming(
        settings, f"reading partials from {settings.partials_topic()}", read, settings.partials_topic(),
        auto_offset_reset="latest",
        # Partials are tens of KiB; a larger one still arrives whole (the broker returns at
        # least one record), so this only bounds the fetch buffer.
        max_partition_fetch_bytes=PARTIALS_FETCH_BYTES, fetch_max_bytes=PARTIALS_FETCH_BYTES,
    )
