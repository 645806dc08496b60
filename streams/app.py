"""The Faust app: topics in, `Processor` in the middle, `/metrics` out.

Faust's windowed tables expire on the wall clock and re-serialise values per write (see
docs/design.md), so windows live in `kpi/` and Faust only moves records.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
import uuid
from collections import Counter

import faust
from aiohttp.web import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from streams.batching import BatchingApp
from streams.checkpoints import checkpoint_key, follow_partials, load_checkpoints
from streams.clients import credentials, keep_consuming
from streams.exporter import Exporter, encode_partial
from streams.exposition import build_registry
from streams.processor import DeadLetter, Processor
from streams.settings import Settings
from streams.wall import wall_response

log = logging.getLogger("kpi_monitor.worker")

# Bounded in-flight work (docs/operations.md): records queued per partition on the stock
# agent path, and records handed to the processor per consumer fetch on either path. The
# fetched-but-unprocessed buffer is also bounded in bytes by aiokafka: about
# `consumer_max_fetch_size` (Faust's default 1 MiB) per assigned partition; a single record
# larger than that is still returned whole by the broker, then dead-lettered as too_large.
STREAM_BUFFER_MAXSIZE = 4096
MAX_POLL_RECORDS = 2000


def create_app(settings: Settings) -> tuple[faust.App, Processor]:
    app_class = BatchingApp if settings.consumer_batching else faust.App
    app = app_class(
        settings.app_id,
        broker=[f"kafka://{hp.strip()}" for hp in settings.kafka.bootstrap_servers.split(",")],
        broker_credentials=credentials(settings),
        value_serializer="raw",
        key_serializer="raw",
        web_host=settings.web.host,
        web_bind=settings.web.host,
        web_port=settings.web.port,
        datadir=str(settings.data_dir),
        store="memory://",
        topic_disable_leader=True,  # no leader topic: this app has no leader-only work
        topic_allow_declare=False,  # input topics are provisioned, never auto-created
        consumer_auto_offset_reset="earliest",
        stream_buffer_maxsize=STREAM_BUFFER_MAXSIZE,  # bounded in-flight queue per partition
        broker_max_poll_records=MAX_POLL_RECORDS,  # aiokafka's default (None) is unbounded
        broker_commit_interval=1.0,
        broker_session_timeout=settings.session_timeout_seconds(),
        broker_heartbeat_interval=settings.session_timeout_seconds() / 10,
        producer_max_request_size=settings.state.max_checkpoint_bytes + 65536,
        logging_config=None,
    )
    dead_letter_topic = app.topic(settings.topics.dead_letter, value_serializer="raw", key_serializer="raw")

    def send_dead_letter(dl: DeadLetter) -> None:
        dead_letter_topic.send_soon(
            value=dl.raw[: settings.kafka.max_message_bytes // 2] or b"",
            headers=[
                ("reason", dl.reason.encode()),
                ("detail", dl.detail.encode()[:1000]),
                ("source_topic", dl.topic.encode()),
                ("source_partition", str(dl.partition).encode()),
                ("source_offset", str(dl.offset).encode()),
                ("truncated", b"1" if len(dl.raw) > settings.kafka.max_message_bytes // 2 else b"0"),
            ],
        )

    processor = Processor(settings, send_dead_letter)
    inputs = app.topic(*settings.topics.inputs(), value_serializer="raw", key_serializer="raw")

    # The agent subscribes the input topics; with consumer batching on, records bypass it and
    # reach `handle_batch` from the consumer (streams/batching.py).
    @app.agent(inputs, name="kpi-events")
    async def consume(stream: faust.StreamT) -> None:
        handle = processor.handle
        async for event in stream.events():
            message = event.message
            handle(message.topic, message.partition, message.offset, event.value)

    app.kpi_batch_handler = lambda topic, partition, records: processor.handle_batch(topic, partition, records)  # type: ignore[attr-defined]

    def consumer_lag() -> dict[tuple[str, int], int]:
        lag: dict[tuple[str, int], int] = {}
        try:
            assigned = app.consumer.assignment()
        except Exception:  # noqa: BLE001 - before the consumer starts there is no assignment
            return lag
        for tp in assigned:
            try:
                highwater = app.consumer.highwater(tp)
            except Exception:  # noqa: BLE001
                continue
            if highwater is None:
                continue
            next_offset = processor.next_offsets.get((tp.topic, tp.partition))
            lag[(tp.topic, tp.partition)] = max(0, highwater - (next_offset or 0))
        return lag

    def kafka_connected() -> bool | None:
        """Whether the consumer holds a live broker connection; None before it has started.

        Reads aiokafka's connection table through Faust's consumer thread: private
        attributes, hence the broad except (an upgrade that moves them hides the gauge
        rather than breaking scrapes).
        """
        try:
            conns = list(app.consumer._thread._consumer._client._conns.values())  # type: ignore[attr-defined]
            return any(conn.connected() for conn in conns)
        except Exception:  # noqa: BLE001
            return None

    durable = settings.consumer_batching  # the stock agent path acks and commits on its own
    if not durable:
        log.warning(
            "consumer_batching is off: partition state is neither checkpointed nor handed over on a rebalance; "
            "run a single worker per group, and expect a restart to start empty"
        )
    scale = ScaleOut(app, settings, processor, durable)
    registry = build_registry(processor, consumer_lag, kafka_connected, scale)
    connected_before: bool | None = None
    changed_at = time.monotonic()

    def watch_connection() -> None:
        """Log each change of broker connectivity once (aiokafka logs every retry)."""
        nonlocal connected_before, changed_at
        up = kafka_connected()
        if up is None or up == connected_before:
            return
        now = time.monotonic()
        if up is False:
            log.warning("Kafka: no live connection to any broker (%s); retrying, processing resumes on reconnect", settings.kafka.bootstrap_servers)
        elif connected_before is False:
            log.info("Kafka: connected again after %.1f s without a broker", now - changed_at)
        connected_before, changed_at = up, now

    @app.timer(settings.evaluation_interval_seconds(), on_leader=False)
    async def evaluate() -> None:
        await scale.evaluate_and_publish()
        watch_connection()

    @app.timer(settings.checkpoint_interval_seconds(), on_leader=False)
    async def checkpoint() -> None:
        await scale.checkpoint()

    @app.task
    async def partition_counts() -> None:
        await scale.follow_partition_counts()

    @app.task
    async def partials() -> None:
        await follow_partials(settings, scale.on_partial)

    @app.on_partitions_revoked.connect
    async def on_revoked(sender, revoked, **kwargs) -> None:  # type: ignore[no-untyped-def]
        await scale.checkpoint()  # hand over: the next owner resumes from here

    @app.on_partitions_assigned.connect
    async def on_assigned(sender, assigned, **kwargs) -> None:  # type: ignore[no-untyped-def]
        await scale.on_assigned(assigned)

    @app.on_before_shutdown.connect
    async def on_shutdown(sender, **kwargs) -> None:  # type: ignore[no-untyped-def]
        await scale.checkpoint()

    app.kpi_restored = scale.restored  # type: ignore[attr-defined]
    app.kpi_ensure_restored = lambda: scale.ensure_restored(scale.assignment())  # type: ignore[attr-defined]
    app.kpi_expected_offset = processor.offset_to_verify  # type: ignore[attr-defined]
    app.kpi_sought_back = processor.sought_back  # type: ignore[attr-defined]

    @app.page("/metrics")
    async def metrics(self, request):  # type: ignore[no-untyped-def]
        return Response(body=generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST})

    @app.page("/wall")
    async def wall(self, request):  # type: ignore[no-untyped-def]
        return wall_response()

    @app.page("/healthz")
    async def healthz(self, request):  # type: ignore[no-untyped-def]
        return self.json({"status": "ok", "watermark": processor.snapshot.watermark})

    app.kpi_processor = processor  # type: ignore[attr-defined]
    app.kpi_scale = scale  # type: ignore[attr-defined]
    app.kpi_registry = registry  # type: ignore[attr-defined]
    return app, processor


class ScaleOut:
    """Checkpoints, restores, partial publishing and the exporter role of one worker."""

    def __init__(self, app: faust.App, settings: Settings, processor: Processor, durable: bool) -> None:
        self.app = app
        self.settings = settings
        self.processor = processor
        self.durable = durable
        self.worker_id = f"{socket.gethostname()}:{settings.web.port}:{uuid.uuid4().hex[:8]}"
        self.exporter = Exporter(settings.max_label_values, {k: frozenset(v) for k, v in settings.label_allow.items()})
        self.inputs = settings.topics.inputs()
        self.checkpoints: Counter = Counter()  # outcome -> n
        self.restores: Counter = Counter()  # outcome -> n
        self.checkpoint_bytes = 0
        self._lock = asyncio.Lock()
        self._restore_lock = asyncio.Lock()
        self._last_problem = ""
        self._was_exporter = False
        self.interval_seconds = settings.evaluation_interval_seconds()
        self.partition_counts: dict[str, int] = {}
        self.restored: set[tuple[str, int]] = set()  # partitions whose state is installed

    # -- roles -------------------------------------------------------------------------------
    def assignment(self) -> set[tuple[str, int]]:
        try:
            return {(tp.topic, tp.partition) for tp in self.app.consumer.assignment() if tp.topic in self.inputs}
        except Exception:  # noqa: BLE001 - before the consumer starts there is no assignment
            return set()

    def is_exporter(self) -> bool:
        """Whoever owns partition 0 of the first input topic: the group's assignment elects it."""
        return (self.inputs[0], 0) in self.assignment()

    def expected_partitions(self) -> set[tuple[str, int]] | None:
        """Every input partition, from cluster metadata (None until it has been read)."""
        if len(self.partition_counts) < len(self.inputs):
            return None
        return {(topic, p) for topic in self.inputs for p in range(self.partition_counts[topic])}

    async def follow_partition_counts(self, every_seconds: float = 30.0) -> None:
        """Keep the input topics' partition counts current (partitions can be added); the
        last counts stay valid while the metadata cannot be read."""

        async def refresh(consumer) -> None:  # type: ignore[no-untyped-def]
            while True:
                cluster = await consumer._client.fetch_all_metadata()  # noqa: SLF001 - what topics() reads, kept
                for topic in self.inputs:
                    partitions = cluster.partitions_for_topic(topic)
                    if partitions:
                        self.partition_counts[topic] = len(partitions)
                await asyncio.sleep(every_seconds)

        await keep_consuming(self.settings, "reading the input topics' metadata", refresh)

    # -- partials ------------------------------------------------------------------------------
    async def evaluate_and_publish(self) -> None:
        partial = self.processor.evaluate(sorted(self.restored))
        generation = self.app.consumer_generation_id
        if generation is None or generation < 0:
            return  # not in a group yet: nothing to claim
        # The exporter takes its own partial directly: a single worker needs no round trip
        # through Kafka, and keeps its SLA gauges moving during a broker outage.
        self.exporter.receive_local(self.worker_id, generation, partial)
        self._merge_if_exporter()
        blob = encode_partial(self.worker_id, generation, partial)
        try:
            # Bounded: during an outage the producer may wait for buffer space far longer
            # than one interval (Faust's request timeout is 20 min); the next interval retries.
            await asyncio.wait_for(
                self.app.producer.send(self.settings.partials_topic(), self.worker_id.encode(), blob, None, None, None),
                timeout=self.interval_seconds,
            )
        except Exception as exc:  # noqa: BLE001 - the next interval publishes again
            log.warning("publishing the partial failed: %s: %s", type(exc).__name__, exc)

    def on_partial(self, blob: bytes) -> None:
        self.exporter.receive(blob, own_worker=self.worker_id)
        self._merge_if_exporter()

    def _merge_if_exporter(self) -> None:
        exporting = self.is_exporter()
        if exporting != self._was_exporter:
            # A worker that regains the role must not serve what it merged when it last had it.
            self.exporter.reset()
            self._was_exporter = exporting
        if not exporting:
            return
        try:
            self.exporter.merge(self.expected_partitions())
        except Exception:  # noqa: BLE001 - one bad merge must not stop the exporter
            self.exporter.complete = False
            self.exporter.problem = "merge failed"
            log.exception("merging the partials failed")
        if self.exporter.problem != self._last_problem:
            if self.exporter.problem:
                log.info("KPI values not updated: %s (the last complete values stay up)", self.exporter.problem)
            else:
                log.info("KPI values complete again: %d workers' partials merged", self.exporter.workers)
            self._last_problem = self.exporter.problem

    # -- durable state ---------------------------------------------------------------------------
    async def on_assigned(self, assigned) -> None:  # type: ignore[no-untyped-def]
        mine = {(tp.topic, tp.partition) for tp in assigned if tp.topic in self.inputs}
        for tp in [tp for tp in self.processor.engines if tp not in mine]:
            self.processor.drop(tp)
        # Kept partitions keep their in-memory state: nobody else owned them meanwhile.
        self.restored &= mine
        await self.ensure_restored(mine)  # eagerly, so partials cover partitions without new records

    async def ensure_restored(self, tps) -> None:  # type: ignore[no-untyped-def]
        """Install the checkpointed state of partitions not yet restored in this assignment.

        Also called by the batch consumer before it hands over a partition's first batch,
        so no record can reach an engine that a restore would then replace.
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
                blobs = await load_checkpoints(self.settings, new)
            except Exception as exc:  # noqa: BLE001
                # Without its checkpoint a partition cannot resume correctly: stop rather than
                # silently count from an empty state (the supervisor restarts the worker).
                log.error("could not read checkpoints from %s: %s: %s", self.settings.checkpoint_topic(), type(exc).__name__, exc)
                raise
            for tp in new:
                offset = self.processor.restore(tp, blobs.get(tp))
                outcome = "restored" if offset is not None else ("reset" if tp in blobs else "empty")
                self.restores[outcome] += 1
            self.restored.update(new)
            log.info(
                "%d partitions assigned: %d restored from checkpoints in %.2f s",
                len(new), sum(1 for tp in new if tp in self.processor.engines), time.monotonic() - started,
            )

    async def checkpoint(self) -> None:
        if not self.durable:
            return
        async with self._lock:
            offsets: dict[tuple[str, int], int] = {}
            limit = self.settings.state.max_checkpoint_bytes
            for tp in self.processor.dirty_partitions():
                made = self.processor.checkpoint(tp)
                if made is None:
                    continue
                blob, offset = made
                if len(blob) > limit:
                    self.checkpoints["too_large"] += 1
                    log.error("%s-%d: checkpoint of %d bytes exceeds state.max_checkpoint_bytes=%d; not written", tp[0], tp[1], len(blob), limit)
                    continue
                try:
                    # Bounded, so that a broker outage cannot hold the lock (and with it a
                    # revoke or a shutdown) for the producer's 20-minute request timeout.
                    await asyncio.wait_for(
                        self.app.producer.send_and_wait(self.settings.checkpoint_topic(), checkpoint_key(tp), blob, None, None, None),
                        timeout=self.settings.session_timeout_seconds() / 2,
                    )
                except Exception as exc:  # noqa: BLE001 - retried at the next interval
                    self.checkpoints["failed"] += 1
                    self.processor.mark_dirty(tp)  # the partitions after it were never taken: still dirty
                    log.warning("%s-%d: writing the checkpoint failed: %s: %s; retrying next interval", tp[0], tp[1], type(exc).__name__, exc or "timed out")
                    break  # the broker is likely away: do not wait once per partition
                self.checkpoints["written"] += 1
                self.checkpoint_bytes = len(blob)
                offsets[tp] = offset
            if offsets:
                await self._commit(offsets)

    async def _commit(self, offsets: dict[tuple[str, int], int]) -> None:
        """Commit the group offsets the checkpoints reflect (never beyond them)."""
        from aiokafka.structs import OffsetAndMetadata, TopicPartition

        try:
            thread = self.app.consumer._thread  # type: ignore[attr-defined]
            consumer = thread._ensure_consumer()
            assigned = consumer.assignment()
            commit = {
                TopicPartition(t, p): OffsetAndMetadata(o, "") for (t, p), o in offsets.items() if TopicPartition(t, p) in assigned
            }
            if commit:
                await thread.call_thread(consumer.commit, commit)
        except Exception as exc:  # noqa: BLE001 - a later commit covers it; recovery seeks to the checkpoint anyway
            log.warning("committing offsets after the checkpoint failed: %s: %s", type(exc).__name__, exc)
