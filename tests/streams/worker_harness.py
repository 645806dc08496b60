"""Run real `kpi-monitor worker` processes against the test broker, and read their /metrics."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import orjson
from prometheus_client.parser import text_string_to_metric_families

from kpi.contract import SCHEMAS, TOPIC_KEYS
from streams.stack.ports import free_port
from streams.stack.topics import TopicSpec, ensure_topics


@dataclass
class Topics:
    """Per-test topic names, so tests sharing the session broker never see each other's data."""

    prefix: str = field(default_factory=lambda: f"t{uuid.uuid4().hex[:8]}")

    def name(self, kind: str) -> str:
        return f"{self.prefix}-{kind}"

    def env(self) -> dict[str, str]:
        return {f"KPI_TOPICS__{k.upper()}": self.name(k) for k in ("tickets", "surveys", "orders", "customers", "dead_letter")}

    def create(self, bootstrap: str, partitions: int = 4, config: dict[str, str] | None = None) -> None:
        """`config`: topic configs for the input topics, e.g. {"max.message.bytes": "16777216"}."""
        specs = [TopicSpec(self.name(k), partitions, config=config or {}) for k in ("tickets", "surveys", "orders", "customers")]
        ensure_topics(bootstrap, [*specs, TopicSpec(self.name("dead_letter"), 1)])


def route(line: bytes) -> tuple[str, bytes]:
    """(topic kind, key) for a raw line, as a producer following the contract would route it."""
    try:
        obj = orjson.loads(line)
        topic = SCHEMAS[obj["type"]][0]
        return topic, str(obj.get(TOPIC_KEYS[topic], "")).encode()
    except Exception:  # noqa: BLE001 - malformed lines go somewhere deterministic
        return "tickets", b"malformed"


def produce(bootstrap: str, topics: Topics, lines: Iterable[bytes]) -> int:
    from aiokafka import AIOKafkaProducer

    async def go() -> int:
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, acks="all", max_request_size=16 * 1024 * 1024)
        await producer.start()
        n = 0
        try:
            for line in lines:
                line = line.rstrip(b"\n")
                if not line.strip():
                    continue
                kind, key = route(line)
                await producer.send(topics.name(kind), line, key=key)
                n += 1
            await producer.flush()
        finally:
            await producer.stop()
        return n

    return asyncio.run(go())


def consume_all(bootstrap: str, topic: str, expected: int, timeout_seconds: float = 30.0) -> list:
    from aiokafka import AIOKafkaConsumer

    async def go() -> list:
        consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=None, enable_auto_commit=False)
        await consumer.start()
        records: list = []
        try:
            deadline = time.monotonic() + timeout_seconds
            while len(records) < expected and time.monotonic() < deadline:
                batch = await consumer.getmany(timeout_ms=500)
                for msgs in batch.values():
                    records.extend(msgs)
        finally:
            await consumer.stop()
        return records

    return asyncio.run(go())


class Scrape:
    def __init__(self, text: str) -> None:
        self.text = text
        self.samples: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
        for family in text_string_to_metric_families(text):
            for s in family.samples:
                self.samples[(s.name, tuple(sorted(s.labels.items())))] = s.value

    def get(self, name: str, **labels: str) -> float | None:
        return self.samples.get((name, tuple(sorted(labels.items()))))

    def total(self, name: str, **match: str) -> float:
        return sum(v for (n, labels), v in self.samples.items() if n == name and all((k, val) in labels for k, val in match.items()))


class Worker:
    def __init__(self, bootstrap: str, topics: Topics, workdir: Path, extra_env: dict[str, str] | None = None, group: str | None = None) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.log_path = workdir / f"worker-{self.port}.log"
        env = {
            **os.environ,
            **topics.env(),
            "KPI_KAFKA__BOOTSTRAP_SERVERS": bootstrap,
            "KPI_WEB__PORT": str(self.port),
            "KPI_APP_ID": group or f"{topics.prefix}-group",
            "KPI_DATA_DIR": str(workdir / f"data-{self.port}"),
            "KPI_EVALUATION_INTERVAL": "1s",
            **(extra_env or {}),
        }
        self._log = open(self.log_path, "wb")  # noqa: SIM115
        self.proc = subprocess.Popen([sys.executable, "-m", "streams.cli", "worker"], env=env, stdout=self._log, stderr=subprocess.STDOUT, cwd=workdir)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/metrics"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def scrape(self) -> Scrape:
        with urllib.request.urlopen(self.url, timeout=5) as resp:
            return Scrape(resp.read().decode())

    def wait_ready(self, timeout_seconds: float = 60.0) -> None:
        deadline = time.monotonic() + timeout_seconds
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"worker exited with {self.proc.returncode}:\n{self.log()[-4000:]}")
            try:
                self.scrape()
                if "Worker]: Ready" in self.log():
                    return
            except OSError:
                pass
            time.sleep(0.3)
        raise AssertionError(f"worker not ready in {timeout_seconds} s:\n{self.log()[-4000:]}")

    def wait_consumed(self, records: int, timeout_seconds: float = 90.0) -> Scrape:
        """Until every produced record is counted and a later evaluation has run."""
        deadline = time.monotonic() + timeout_seconds
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"worker exited with {self.proc.returncode}:\n{self.log()[-4000:]}")
            scrape = self.scrape()
            if scrape.total("cxkpi_events_total") >= records:
                seen_at = time.time()
                while time.monotonic() < deadline:
                    time.sleep(0.5)
                    scrape = self.scrape()
                    # The KPI values come back through the partials topic (streams/worker/exchange.py).
                    if (scrape.get("cxkpi_export_evaluation_timestamp_seconds") or 0) > seen_at:
                        return scrape
            time.sleep(0.5)
        raise AssertionError(f"worker did not consume {records} records in {timeout_seconds} s:\n{self.log()[-4000:]}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._log.close()
