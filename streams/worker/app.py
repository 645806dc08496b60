"""The Faust app: topics in, `PartitionEngines` in the middle, `/metrics` out.

Faust's windowed tables expire on the wall clock and re-serialise values per write (see
docs/design.md), so windows live in `kpi/` and Faust only moves records. This module wires
the worker's parts to Faust: the consumer (streams/worker/batching.py) feeds the engines,
timers drive evaluation (streams/worker/exchange.py) and checkpoints
(streams/worker/checkpoints.py), rebalance signals drive restores, and the web server
serves the registry (streams/worker/metrics.py).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import NamedTuple

import faust
from aiohttp.web import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from streams.settings import Settings
from streams.worker.wall import wall_response
from streams.worker.batching import BatchHooks, BatchingApp
from streams.worker.checkpoints import CheckpointStore
from streams.worker.clients import credentials
from streams.worker.engines import DeadLetter, PartitionEngines
from streams.worker.exchange import PartialsExchange, new_worker_id
from streams.worker.first_offsets import FirstOffsets
from streams.worker.kafka import FaustGroup, FaustProducer, KafkaCheckpointReader, follow_partials
from streams.worker.logs import RateLimitFilter
from streams.worker.metrics import build_registry
from streams.worker.shutdown import AckTracker, Leftovers, unsent_records

log = logging.getLogger("kpi_monitor.worker")

# Bounded in-flight work (docs/operations.md): records queued per partition on the stock
# agent path, and records handed to the engines per consumer fetch on either path. The
# fetched-but-unprocessed buffer is also bounded in bytes by aiokafka: about
# `consumer_max_fetch_size` (Faust's default 1 MiB) per assigned partition; a single record
# larger than that is still returned whole by the broker, then dead-lettered as too_large.
STREAM_BUFFER_MAXSIZE = 4096
MAX_POLL_RECORDS = 2000
# How often broker connectivity is checked: the reconnect line should be the first one after
# an outage, before the group's own chatter.
CONNECTION_CHECK_SECONDS = 0.5


class WorkerApp(NamedTuple):
    """A wired worker: the Faust app to run, and its parts (for benchmarks and tests)."""

    app: faust.App
    engines: PartitionEngines
    store: CheckpointStore
    exchange: PartialsExchange
    registry: CollectorRegistry
    hooks: BatchHooks  # what the batch consumer calls (consumer_batching on)
    log_filter: RateLimitFilter  # bounds repeated failure lines; install it on the log handlers
    leftovers: Leftovers  # what a shutdown cut short would leave unwritten


def _faust_app(settings: Settings) -> faust.App:
    app_class = BatchingApp if settings.consumer_batching else faust.App
    return app_class(
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


def _dead_letter_sender(app: faust.App, settings: Settings) -> Callable[[DeadLetter], None]:
    topic = app.topic(settings.topics.dead_letter, value_serializer="raw", key_serializer="raw")
    limit = settings.kafka.max_message_bytes // 2

    def send_dead_letter(dl: DeadLetter) -> None:
        topic.send_soon(
            value=dl.raw[:limit] or b"",
            headers=[
                ("reason", dl.reason.encode()),
                ("detail", dl.detail.encode()[:1000]),
                ("source_topic", dl.topic.encode()),
                ("source_partition", str(dl.partition).encode()),
                ("source_offset", str(dl.offset).encode()),
                ("truncated", b"1" if len(dl.raw) > limit else b"0"),
            ],
        )

    return send_dead_letter


class _ConnectionWatch:
    """Logs each change of broker connectivity once (aiokafka logs every retry): when the
    connection is lost, and when it is back with how long it was down and what failed
    meanwhile (every rate-limited log line counted by `failures`, held back or not)."""

    def __init__(self, group: FaustGroup, bootstrap_servers: str, failures: RateLimitFilter) -> None:
        self.group = group
        self.bootstrap_servers = bootstrap_servers
        self.failures = failures
        self.connected_before: bool | None = None
        self.changed_at = time.monotonic()
        self.mark = failures.mark()  # failures counted up to the last check that found a connection

    def __call__(self) -> None:
        up = self.group.kafka_connected()
        if up is None:
            return
        if up and self.connected_before is not False:
            self.mark = self.failures.mark()
        if up == self.connected_before:
            return
        now = time.monotonic()
        if up is False:
            log.warning(
                "Kafka: no live connection to any broker (%s); retrying, processing resumes on reconnect "
                "(each kind of failure is logged at most once every %.0f s, with a count)",
                self.bootstrap_servers, self.failures.interval_seconds,
            )
        elif self.connected_before is False:
            log.info(
                "Kafka: connected again after %.1f s without a broker; failed meanwhile: %s",
                now - self.changed_at, self.failures.summary(self.mark),
            )
            self.mark = self.failures.mark()
        self.connected_before, self.changed_at = up, now


def create_app(settings: Settings) -> WorkerApp:
    """Build the worker's Faust app and its parts from `settings` (nothing is started)."""
    app = _faust_app(settings)
    engines = PartitionEngines(settings, _dead_letter_sender(app, settings))
    inputs = app.topic(*settings.topics.inputs(), value_serializer="raw", key_serializer="raw")

    # The agent subscribes the input topics; with consumer batching on, records bypass it and
    # reach `engines.handle_batch` from the consumer (streams/worker/batching.py).
    @app.agent(inputs, name="kpi-events")
    async def consume(stream: faust.StreamT) -> None:
        handle = engines.handle
        async for event in stream.events():
            message = event.message
            handle(message.topic, message.partition, message.offset, event.value)

    durable = settings.consumer_batching  # the stock agent path acks and commits on its own
    if not durable:
        log.warning(
            "consumer_batching is off: partition state is neither checkpointed nor handed over on a rebalance; "
            "run a single worker per group, and expect a restart to start empty"
        )
    group = FaustGroup(app, settings)
    producer = FaustProducer(app)
    first_offsets = FirstOffsets()
    acks = AckTracker(producer)
    store = CheckpointStore(settings, engines, KafkaCheckpointReader(settings), acks, group, first_offsets, durable)

    async def ensure_restored() -> None:
        await store.ensure_restored(group.assignment())

    hooks = BatchHooks(engines.handle_batch, store.is_restored, ensure_restored, first_offsets)
    if isinstance(app, BatchingApp):
        app.use_hooks(hooks)
    exchange = PartialsExchange(settings, engines, lambda: store.restored, group, producer, new_worker_id(settings.web.port))
    registry = build_registry(engines, store, exchange, lambda: group.consumer_lag(engines.next_offsets), group.kafka_connected)
    log_filter = RateLimitFilter()
    watch_connection = _ConnectionWatch(group, settings.kafka.bootstrap_servers, log_filter)
    leftovers = Leftovers(
        engines.dirty_partitions, acks, lambda: unsent_records(app),
        {settings.topics.dead_letter: "dead letters", settings.partials_topic(): "partials"},
        settings.checkpoint_topic(), durable,
    )

    @app.timer(settings.evaluation_interval_seconds(), on_leader=False)
    async def evaluate() -> None:
        await exchange.evaluate_and_publish()

    @app.timer(CONNECTION_CHECK_SECONDS, on_leader=False)
    async def connection() -> None:
        watch_connection()

    @app.timer(settings.checkpoint_interval_seconds(), on_leader=False)
    async def checkpoint() -> None:
        await store.checkpoint()

    @app.task
    async def partition_counts() -> None:
        await group.follow_partition_counts()

    @app.task
    async def partials() -> None:
        await follow_partials(settings, exchange.on_partial)

    @app.on_partitions_revoked.connect
    async def on_revoked(sender, revoked, **kwargs) -> None:  # type: ignore[no-untyped-def]
        await store.checkpoint()  # hand over: the next owner resumes from here

    @app.on_partitions_assigned.connect
    async def on_assigned(sender, assigned, **kwargs) -> None:  # type: ignore[no-untyped-def]
        await store.on_assigned(assigned)

    @app.on_before_shutdown.connect
    async def on_shutdown(sender, **kwargs) -> None:  # type: ignore[no-untyped-def]
        # Bounded by the shutdown watchdog (streams/worker/shutdown.py), not here: it reports
        # what is left whichever step of Faust's stop is waiting.
        await store.checkpoint()
        unwritten = leftovers.unwritten_checkpoints()
        if unwritten:
            log.warning("final checkpoint: %d partitions not written; the next start resumes them from their last checkpoints", unwritten)
        elif durable:
            log.info("final checkpoint: every partition's state is written with its offset")

    @app.page("/metrics")
    async def metrics(self, request):  # type: ignore[no-untyped-def]
        return Response(body=generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST})

    @app.page("/wall")
    async def wall(self, request):  # type: ignore[no-untyped-def]
        return wall_response()

    @app.page("/healthz")
    async def healthz(self, request):  # type: ignore[no-untyped-def]
        return self.json({"status": "ok", "watermark": engines.last_evaluation.watermark})

    return WorkerApp(app, engines, store, exchange, registry, hooks, log_filter, leftovers)
