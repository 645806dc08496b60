"""A real worker on the test broker, scraped by a real Prometheus that loads the generated
rules, fed generated events plus hand-made tickets and surveys, for the codegen tests."""

from __future__ import annotations

import math
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import orjson
import pytest

from streams.stack.errors import StackError
from streams.stack.prometheus import PrometheusServer
from tests.streams.worker_harness import Topics, Worker, produce

TEAMS = ("billing", "tech", "returns")
CHANNELS = ("email", "chat")
PRIORITIES = ("urgent", "high", "normal", "low")


def ticket_events(prefix: str, now: float, count: int, *, resolve: bool = True) -> list[bytes]:
    """Tickets created in the last minutes, replied to and (by default) resolved within
    seconds, across every team, channel and priority; with a survey of each kind per ticket
    carrying its team and channel."""
    lines = []
    for i in range(count):
        created = now - 120 + i
        tid = f"{prefix}-{i}"
        team, channel, priority = TEAMS[i % 3], CHANNELS[i % 2], PRIORITIES[i % 4]
        base = {"ticket_id": tid}
        lines.append(orjson.dumps({"event_id": f"{tid}-c", "type": "ticket.created", "ts": created, "customer_id": f"{tid}-cu",
                                   "team": team, "channel": channel, "priority": priority, **base}))
        lines.append(orjson.dumps({"event_id": f"{tid}-r", "type": "ticket.agent_replied", "ts": created + 2, "agent_id": "a1", **base}))
        if i % 4 == 0:
            lines.append(orjson.dumps({"event_id": f"{tid}-r2", "type": "ticket.agent_replied", "ts": created + 3, "agent_id": "a2", **base}))
        if resolve:
            lines.append(orjson.dumps({"event_id": f"{tid}-x", "type": "ticket.resolved", "ts": created + 5 + i % 7, "agent_id": "a1", **base}))
        for kind, score in (("nps", i % 11), ("csat", 1 + i % 5), ("ces", 1 + i % 7)):
            lines.append(orjson.dumps({"event_id": f"{tid}-{kind}", "type": f"survey.{kind}", "ts": created + 6 + i % 7,
                                       "customer_id": f"{tid}-cu", "score": score, "ticket_id": tid, "team": team, "channel": channel}))
    return lines


def old_tickets(now: float) -> list[bytes]:
    """Tickets created hours ago: some already past their target, one resolved late."""
    lines = []
    for i, (age_hours, priority) in enumerate(((5, "urgent"), (3.9, "urgent"), (9, "high"), (30, "normal"), (80, "low"), (5, "urgent"))):
        tid = f"old-{i}"
        lines.append(orjson.dumps({"event_id": f"{tid}-c", "type": "ticket.created", "ts": now - age_hours * 3600, "ticket_id": tid,
                                   "customer_id": f"{tid}-cu", "team": TEAMS[i % 3], "channel": CHANNELS[i % 2], "priority": priority}))
    return lines


@dataclass
class LiveStack:
    worker: Worker
    prometheus: PrometheusServer
    sent: int

    def query(self, expr: str) -> list[dict]:
        return self.prometheus.query(expr)


def finite_values(result: list[dict]) -> list[float]:
    return [float(r["value"][1]) for r in result if math.isfinite(float(r["value"][1]))]


def _generate(workdir: Path, now: float) -> list[bytes]:
    start = datetime.fromtimestamp(now - 150, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    out = workdir / "events.jsonl"
    result = subprocess.run(
        [sys.executable, "-m", "streams.cli", "generate", "--out", str(out), "--count", "1500", "--rate", "10", "--seed", "6",
         "--start", start, "--duplicate-fraction", "0.02", "--malformed-fraction", "0.03", "--quiet"],
        capture_output=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr.decode()
    return out.read_bytes().splitlines()


def wait_for(predicate, timeout_seconds: float, what: str) -> None:
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout_seconds} s waiting for {what}")


@contextmanager
def live_stack(kafka, workdir: Path, rule_files: list[str]) -> Iterator[LiveStack]:
    topics = Topics()
    topics.create(kafka.bootstrap_servers)
    # A grace of days: the hand-made tickets from hours ago must not count as late,
    # whatever order the partitions deliver them in.
    worker = Worker(kafka.bootstrap_servers, topics, workdir, {"KPI_GRACE": "4d"})
    prometheus = None
    try:
        worker.wait_ready()
        prometheus = PrometheusServer(workdir / "prometheus", scrape_targets=[f"127.0.0.1:{worker.port}"], rule_files=rule_files,
                                      scrape_interval_seconds=1.0)
        try:
            prometheus.start()
        except StackError as exc:
            pytest.fail(f"Prometheus could not start for the tests:\n{exc}", pytrace=False)
        now = time.time()
        sent = produce(kafka.bootstrap_servers, topics, old_tickets(now))
        worker.wait_consumed(sent)
        sent += produce(kafka.bootstrap_servers, topics, _generate(workdir, now) + ticket_events("quick-a", now, 48))
        worker.wait_consumed(sent)
        # Let Prometheus see the histogram, then move it, so rates over it are above zero.
        wait_for(lambda: bool(prometheus.query("cxkpi_ticket_resolution_seconds_count")), 30, "the first scrape of the histogram")
        time.sleep(2)
        batch = ticket_events("quick-b", time.time(), 48)
        # One breach the rates can see: an urgent ticket resolved after 5h.
        batch.append(orjson.dumps({"event_id": "old-0-x", "type": "ticket.resolved", "ts": time.time() - 30, "ticket_id": "old-0", "agent_id": "a9"}))
        sent += produce(kafka.bootstrap_servers, topics, batch)
        worker.wait_consumed(sent)
        wait_for(
            lambda: bool(finite_values(prometheus.query("sum(priority:cxkpi_ticket_resolutions:rate5m) > 0"))),
            30, "recording rules over a moving histogram",
        )
        yield LiveStack(worker, prometheus, sent)
    finally:
        if prometheus is not None:
            prometheus.stop()
        worker.stop()
