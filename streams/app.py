"""The Faust app: topics in, `Processor` in the middle, `/metrics` out.

Faust's windowed tables expire on the wall clock and re-serialise values per write (see
docs/design.md), so windows live in `kpi/` and Faust only moves records.
"""

from __future__ import annotations

import logging
import ssl
import time

import faust
from aiohttp.web import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from streams.batching import BatchingApp
from streams.exposition import build_registry
from streams.processor import DeadLetter, Processor
from streams.settings import Settings

log = logging.getLogger("kpi_monitor.worker")

# Bounded in-flight work (docs/operations.md): records queued per partition on the stock
# agent path, and records handed to the processor per consumer fetch on either path. The
# fetched-but-unprocessed buffer is also bounded in bytes by aiokafka: about
# `consumer_max_fetch_size` (Faust's default 1 MiB) per assigned partition; a single record
# larger than that is still returned whole by the broker, then dead-lettered as too_large.
STREAM_BUFFER_MAXSIZE = 4096
MAX_POLL_RECORDS = 2000


def _credentials(settings: Settings):
    k = settings.kafka
    ssl_context = None
    if k.security_protocol in ("SSL", "SASL_SSL"):
        ssl_context = ssl.create_default_context(cafile=str(k.ssl_cafile) if k.ssl_cafile else None)
        if k.ssl_certfile:
            ssl_context.load_cert_chain(
                str(k.ssl_certfile),
                str(k.ssl_keyfile) if k.ssl_keyfile else None,
                k.ssl_keyfile_password.get_secret_value() if k.ssl_keyfile_password else None,
            )
    if k.security_protocol.startswith("SASL"):
        assert k.sasl_username and k.sasl_password and k.sasl_mechanism
        return faust.SASLCredentials(
            username=k.sasl_username,
            password=k.sasl_password.get_secret_value(),
            mechanism=k.sasl_mechanism,
            ssl_context=ssl_context,
        )
    return ssl_context


def create_app(settings: Settings) -> tuple[faust.App, Processor]:
    app_class = BatchingApp if settings.consumer_batching else faust.App
    app = app_class(
        settings.app_id,
        broker=[f"kafka://{hp.strip()}" for hp in settings.kafka.bootstrap_servers.split(",")],
        broker_credentials=_credentials(settings),
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

    def handle_batch(topic: str, partition: int, records) -> None:  # type: ignore[no-untyped-def]
        handle = processor.handle
        for record in records:
            handle(topic, partition, record.offset, record.value)

    app.kpi_batch_handler = handle_batch  # type: ignore[attr-defined]

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
            position = processor.positions.get((tp.topic, tp.partition))
            lag[(tp.topic, tp.partition)] = max(0, highwater - (position + 1 if position is not None else 0))
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

    registry = build_registry(processor, consumer_lag, kafka_connected)
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
        processor.evaluate()
        watch_connection()

    @app.task
    async def first_evaluation() -> None:
        processor.evaluate()

    @app.page("/metrics")
    async def metrics(self, request):  # type: ignore[no-untyped-def]
        return Response(body=generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST})

    @app.page("/healthz")
    async def healthz(self, request):  # type: ignore[no-untyped-def]
        return self.json({"status": "ok", "watermark": processor.snapshot.watermark})

    app.kpi_processor = processor  # type: ignore[attr-defined]
    app.kpi_registry = registry  # type: ignore[attr-defined]
    return app, processor
