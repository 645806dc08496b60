"""Durable partition state: checkpoints in a compacted Kafka topic, and the worker's own Kafka clients.

Why not Faust tables: a table's changelog write is not atomic with the offset commit, and
Faust's exactly-once mode has open bugs (../shared/notes). Here a checkpoint record holds
a partition's whole engine state *and* the offset it reflects, so the two cannot
disagree. Recovery installs the state and drops every re-read record below that offset;
consumer-group offsets are committed only after the checkpoint is written, so they never
run ahead of it (and if one ever did, the batch consumer seeks back). The event-id
dedup set is part of the state, so a duplicate stays a duplicate across a crash.

The topic is compacted and keyed by "<topic>/<partition>": the newest checkpoint of each
partition survives, readable by whichever worker the group assigns the partition to.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from typing import Any

from streams.clients import client_kwargs, keep_consuming, standalone_consumer
from streams.settings import Settings
from streams.stack.topics import TopicSpec, ensure_topics_async

log = logging.getLogger("kpi_monitor.worker")

TP = tuple[str, int]
PARTIALS_FETCH_BYTES = 4 * 1024 * 1024


def checkpoint_key(tp: TP) -> bytes:
    return f"{tp[0]}/{tp[1]}".encode()


def internal_topics(settings: Settings) -> list[TopicSpec]:
    max_bytes = str(settings.state.max_checkpoint_bytes)
    rf = settings.state.replication_factor
    return [
        TopicSpec(
            settings.checkpoint_topic(), 1, rf,
            # Short segments and a compaction deadline keep the superseded checkpoints that a
            # restore must read past to a few minutes' worth.
            {
                "cleanup.policy": "compact", "max.message.bytes": max_bytes, "segment.ms": "60000",
                "max.compaction.lag.ms": "300000", "min.cleanable.dirty.ratio": "0.1",
            },
        ),
        # Partials are only read live; a few minutes of them is plenty.
        TopicSpec(settings.partials_topic(), 1, rf, {"retention.ms": "300000", "segment.ms": "60000", "max.message.bytes": max_bytes}),
    ]


async def ensure_internal_topics(settings: Settings, timeout_seconds: float = 30.0) -> list[str]:
    return await ensure_topics_async(
        settings.kafka.bootstrap_servers, internal_topics(settings), timeout_seconds=timeout_seconds, client_kwargs=client_kwargs(settings),
    )


async def load_checkpoints(settings: Settings, wanted: Iterable[TP], timeout_seconds: float = 60.0) -> dict[TP, bytes]:
    """The newest checkpoint of each wanted partition (absent: none was ever written)."""
    from aiokafka import TopicPartition

    keys = {checkpoint_key(tp): tp for tp in wanted}
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
        partitions = cluster.partitions_for_topic(topic)
        if not partitions:
            raise RuntimeError(f"checkpoint topic {topic} does not exist")
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
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

        await asyncio.wait_for(read(), timeout_seconds)
    finally:
        try:
            await consumer.stop()
        except Exception:  # noqa: BLE001 - cleanup after a failed start must not mask its error
            pass
    return found


async def follow_partials(settings: Settings, on_record: Callable[[bytes], None]) -> None:
    """Hand every partial published from now on to `on_record`, through outages."""

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
