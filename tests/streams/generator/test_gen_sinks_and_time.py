"""Sinks (without a broker) and timestamp/duration text."""

from __future__ import annotations

import asyncio
import random
import socket

import pytest

from streams.generator import ConfigError, JsonlSink, SinkError, SinkUnavailable
from streams.generator.kafka_sink import KafkaSink
from streams.generator.timefmt import (
    Rfc3339MsFormatter,
    epoch_ms,
    format_rfc3339_ms,
    parse_cli_duration_seconds,
    parse_rfc3339_seconds,
)


def test_jsonl_sink_writes_one_value_per_line(tmp_path):
    path = tmp_path / "out.jsonl"

    async def write() -> None:
        sink = JsonlSink(path)
        await sink.send("tickets", b"k", b'{"a":1}')
        await sink.send("orders", None, b'{"b":2}')
        await sink.close()

    asyncio.run(write())
    assert path.read_bytes() == b'{"a":1}\n{"b":2}\n'


def test_jsonl_sink_reports_unopenable_path(tmp_path):
    with pytest.raises(SinkUnavailable, match="cannot open"):
        JsonlSink(tmp_path / "no" / "such" / "dir.jsonl")


class FakeProducer:
    """Stands in for AIOKafkaProducer: records sends, resolves deliveries."""

    def __init__(self, fail_on: bytes | None = None, flush_forever: bool = False) -> None:
        self.sent: list[tuple[str, bytes | None, bytes]] = []
        self.stopped = False
        self._fail_on = fail_on
        self._flush_forever = flush_forever

    async def send(self, topic, value=None, key=None):
        self.sent.append((topic, key, value))
        delivery = asyncio.get_running_loop().create_future()
        if value == self._fail_on:
            delivery.set_exception(RuntimeError("broker said no"))
        else:
            delivery.set_result(None)
        return delivery

    async def flush(self):
        if self._flush_forever:
            await asyncio.sleep(3600)

    async def stop(self):
        self.stopped = True


def test_kafka_sink_sends_topic_key_value_and_counts_acks():
    producer = FakeProducer()

    async def go() -> KafkaSink:
        sink = KafkaSink(producer, "fake:9092", timeout_seconds=1)
        await sink.send("tickets", b"tk-1", b"{}")
        await sink.send("customers", b"cu-1", b"{ }")
        await asyncio.sleep(0)  # let delivery callbacks run
        await sink.close()
        return sink

    sink = asyncio.run(go())
    assert producer.sent == [("tickets", b"tk-1", b"{}"), ("customers", b"cu-1", b"{ }")]
    assert sink.acked == 2 and sink.failed == 0 and producer.stopped


def test_kafka_sink_surfaces_delivery_failures():
    producer = FakeProducer(fail_on=b"bad")

    async def go() -> None:
        sink = KafkaSink(producer, "fake:9092", timeout_seconds=1)
        await sink.send("tickets", b"k", b"bad")
        await asyncio.sleep(0)
        await sink.close()

    with pytest.raises(SinkError, match="broker said no"):
        asyncio.run(go())
    assert producer.stopped


def test_kafka_sink_close_does_not_hang_on_a_stuck_flush():
    producer = FakeProducer(flush_forever=True)

    async def go() -> None:
        sink = KafkaSink(producer, "fake:9092", timeout_seconds=0.2)
        await sink.send("tickets", b"k", b"v")
        await sink.close()

    with pytest.raises(SinkError, match="did not confirm"):
        asyncio.run(go())
    assert producer.stopped


def test_kafka_connect_to_nothing_raises_sink_unavailable():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(SinkUnavailable, match=f"127.0.0.1:{port}"):
        asyncio.run(KafkaSink.connect(f"127.0.0.1:{port}", timeout_seconds=2))


def test_cached_formatter_matches_reference():
    rng = random.Random(0)
    formatter = Rfc3339MsFormatter()
    t = 1_714_521_599.0
    for _ in range(20_000):
        t += rng.expovariate(5.0)
        assert formatter(t) == format_rfc3339_ms(t)
    assert formatter(1_714_521_600.0) == "2024-05-01T00:00:00.000Z"
    assert formatter(1_714_521_600.9999) == "2024-05-01T00:00:00.999Z"  # truncated


def test_epoch_ms_truncates_like_the_text_form():
    assert epoch_ms(1_714_521_600.12399) == 1_714_521_600.123


@pytest.mark.parametrize(
    "text, seconds",
    [("90", 90), ("90s", 90), ("1.5m", 90), ("10m", 600), ("2h", 7200), ("1d", 86400), ("250ms", 0.25)],
)
def test_parse_duration(text, seconds):
    assert parse_cli_duration_seconds(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "soon", "-5s", "10 minutes", "1e3"])
def test_parse_duration_rejects(text):
    with pytest.raises(ConfigError):
        parse_cli_duration_seconds(text)


def test_parse_rfc3339():
    assert parse_rfc3339_seconds("2024-05-01T00:00:00Z") == 1_714_521_600
    assert parse_rfc3339_seconds("2024-05-01T02:00:00.5+02:00") == 1_714_521_600.5
    with pytest.raises(ConfigError, match="timezone"):
        parse_rfc3339_seconds("2024-05-01T00:00:00")
    with pytest.raises(ConfigError):
        parse_rfc3339_seconds("May 1st")
