"""The stream worker against the real test broker: equal to replay, late events, live SLA, naming."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

import orjson
import pytest

from streams.conventions import CURRENCY_KPIS, KPI_METRICS
from tests.streams.worker_harness import Topics, Worker, consume_all, produce

pytestmark = pytest.mark.integration

SLA_ENV = '{"urgent":"30s","high":"60s","normal":"120s","low":"240s"}'
SLA_FLAGS = ["--sla", "urgent=30s", "--sla", "high=60s", "--sla", "normal=120s", "--sla", "low=240s"]
WINDOWS = ("5m", "1h", "24h")
# Values "at the window's end" depend on where the window ends: the replay's day window
# ends at midnight, a trailing window at the current bucket. Those are compared elsewhere.
END_STATE_KPIS = {"open_tickets", "sla_breached_open_tickets", "stickiness_ratio"}


def _cli(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "streams.cli", *args], input=stdin, capture_output=True, timeout=300)


def _replay_rows(path: Path, *flags: str) -> list[dict]:
    result = _cli("replay", str(path), "--window", "1d", *flags)
    assert result.returncode == 0, result.stderr.decode()
    return [orjson.loads(line) for line in result.stdout.splitlines()]


def _start_avoiding_midnight(span_seconds: float, lead_seconds: float) -> datetime:
    """Start so that [start, start+span] sits inside one UTC day (the replay's --window 1d)."""
    start = time.time() - lead_seconds
    day = 86_400
    if int(start // day) != int((start + span_seconds) // day):
        time.sleep((start + span_seconds) % day + 1)  # rare: wait until the span is past midnight
        start = time.time() - lead_seconds
    return datetime.fromtimestamp(start, timezone.utc)


def _quick_tickets(start: float, span_seconds: float) -> list[bytes]:
    """Tickets resolved within the span: some within SLA, some breaching, some reopened."""
    lines = []
    priorities = ("urgent", "high", "normal", "low")
    for i in range(24):
        created = start + (i * 7) % (span_seconds / 2)
        tid = f"quick-{i}"
        base = {"ticket_id": tid}
        lines.append(orjson.dumps({"event_id": f"{tid}-c", "type": "ticket.created", "ts": created, "customer_id": f"qc{i}",
                                   "team": ("billing", "tech", "returns")[i % 3], "channel": ("email", "chat")[i % 2],
                                   "priority": priorities[i % 4], **base}))
        lines.append(orjson.dumps({"event_id": f"{tid}-r1", "type": "ticket.agent_replied", "ts": created + 3 + i, "agent_id": "a1", **base}))
        if i % 3 == 0:
            lines.append(orjson.dumps({"event_id": f"{tid}-r2", "type": "ticket.agent_replied", "ts": created + 5 + i, "agent_id": "a2", **base}))
        lines.append(orjson.dumps({"event_id": f"{tid}-x", "type": "ticket.resolved", "ts": created + 10 + 2 * i, "agent_id": "a1", **base}))
        if i % 5 == 0:
            lines.append(orjson.dumps({"event_id": f"{tid}-o", "type": "ticket.reopened", "ts": created + 12 + 2 * i, **base}))
            lines.append(orjson.dumps({"event_id": f"{tid}-x2", "type": "ticket.resolved", "ts": created + 20 + 2 * i, "agent_id": "a1", **base}))
    return lines


def generated_events(
    path: Path, *, count: int, rate: int, seed: int, lead_seconds: float, duplicate_fraction: float,
    malformed_fraction: float, extra: Callable[[float], list[bytes]] = lambda start: [],
) -> float:
    """`kpi-monitor generate` output ending `lead_seconds` ago (inside one UTC day), plus quick
    tickets and `extra(start)` lines, written to `path`; returns the start (epoch seconds)."""
    start = _start_avoiding_midnight(count / rate, lead_seconds=lead_seconds)
    gen = _cli(
        "generate", "--out", str(path), "--count", str(count), "--rate", str(rate), "--seed", str(seed),
        "--start", start.strftime("%Y-%m-%dT%H:%M:%SZ"), "--duplicate-fraction", str(duplicate_fraction),
        "--malformed-fraction", str(malformed_fraction), "--quiet",
    )
    assert gen.returncode == 0, gen.stderr.decode()
    with path.open("ab") as f:  # generated tickets take hours to resolve; add quick ones
        for line in [*_quick_tickets(start.timestamp(), count / rate), *extra(start.timestamp())]:
            f.write(line + b"\n")
    return start.timestamp()


def replay_counts(path: Path) -> dict[str, int]:
    """The accepted and duplicate counts of `kpi-monitor replay`'s summary."""
    summary = _cli("replay", str(path), "--window", "1d", *SLA_FLAGS).stderr.decode()
    return {what: int(re.search(rf"([\d,]+) {what}", summary).group(1).replace(",", "")) for what in ("accepted", "duplicates")}


@pytest.fixture(scope="module")
def loaded(kafka, tmp_path_factory):
    """One worker fed a generated file with duplicates and malformed records."""
    workdir = tmp_path_factory.mktemp("worker-equal")
    topics = Topics()
    topics.create(kafka.bootstrap_servers)
    events = workdir / "events.jsonl"
    generated_events(events, count=1200, rate=10, seed=11, lead_seconds=150, duplicate_fraction=0.02, malformed_fraction=0.02)
    worker = Worker(kafka.bootstrap_servers, topics, workdir, {"KPI_SLA_TARGETS": SLA_ENV})
    try:
        worker.wait_ready()
        sent = produce(kafka.bootstrap_servers, topics, events.read_bytes().splitlines())
        scrape = worker.wait_consumed(sent)
        yield {"worker": worker, "scrape": scrape, "events": events, "topics": topics, "sent": sent, "kafka": kafka}
    finally:
        worker.stop()


def assert_equal_to_replay(scrape, rows: list[dict]) -> tuple[int, set[str]]:
    """Every replay value equals the worker's gauge in every trailing window (null = absent).

    Returns how many values were compared and which KPIs had a value.
    """
    compared = 0
    kpis_seen = set()
    for row in rows:
        if row["kpi"] in END_STATE_KPIS:
            continue
        spec = KPI_METRICS[row["kpi"]]
        labels = dict(row["labels"])
        if row["kpi"] in CURRENCY_KPIS:
            labels["currency"] = "USD"
        for window in WINDOWS:
            got = scrape.get(spec.name, window=window, **labels)
            if row["value"] is None:
                assert got is None, f"{spec.name}{labels} window={window}: replay says null, worker says {got}"
            else:
                assert got == pytest.approx(row["value"] * spec.scale, rel=1e-9, abs=1e-9), f"{spec.name}{labels} window={window}"
                compared += 1
                kpis_seen.add(row["kpi"])
    return compared, kpis_seen


def test_worker_values_equal_replay_for_windows_containing_all_events(loaded):
    scrape = loaded["scrape"]
    rows = _replay_rows(loaded["events"], *SLA_FLAGS)
    windows = {(r["window_start"]) for r in rows}
    assert len(windows) == 1, "the generated span must fall in one replay window"
    compared, kpis_seen = assert_equal_to_replay(scrape, rows)
    # The file must exercise every topic, or equality would prove little.
    assert {"nps", "csat", "ces", "tickets_created", "tickets_resolved", "resolution_time_p90_seconds",
            "first_response_time_mean_seconds", "fcr_ratio", "orders", "revenue", "conversion_ratio",
            "active_customers", "adoption_ratio"} <= kpis_seen
    assert compared > 150


def test_worker_counts_match_replay_summary(loaded):
    result = _cli("replay", str(loaded["events"]), "--window", "1d", *SLA_FLAGS)
    summary = result.stderr.decode()
    scrape = loaded["scrape"]
    accepted = int(scrape.total("cxkpi_events_total", outcome="accepted"))
    duplicates = int(scrape.get("cxkpi_duplicate_events_total") or 0)
    rejected = int(scrape.total("cxkpi_events_total", outcome="rejected"))
    assert f"{accepted:,} accepted" in summary
    assert f"{duplicates:,} duplicates" in summary
    assert f"{rejected:,} rejected" in summary
    assert accepted + duplicates + rejected == loaded["sent"]


def test_rejected_records_reach_the_dead_letter_topic_with_reason_and_source(loaded):
    scrape = loaded["scrape"]
    rejected = int(scrape.total("cxkpi_events_total", outcome="rejected"))
    assert rejected > 0
    records = consume_all(loaded["kafka"].bootstrap_servers, loaded["topics"].name("dead_letter"), rejected)
    assert len(records) == rejected
    by_reason: dict[str, int] = {}
    for rec in records:
        headers = {k: v.decode() for k, v in rec.headers}
        assert headers["source_topic"].startswith(loaded["topics"].prefix)
        assert int(headers["source_partition"]) >= 0 and int(headers["source_offset"]) >= 0
        assert rec.value  # the raw bytes travel with the reason
        by_reason[headers["reason"]] = by_reason.get(headers["reason"], 0) + 1
    for reason, n in by_reason.items():
        assert scrape.get("cxkpi_events_rejected_total", reason=reason) == n


def test_promtool_check_metrics_is_clean_on_a_real_scrape(loaded):
    promtool = shutil.which("promtool")
    assert promtool, "promtool (Debian package prometheus) is required"
    text = loaded["worker"].scrape().text
    result = subprocess.run([promtool, "check", "metrics"], input=text.encode(), capture_output=True, timeout=60)
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()
    assert result.stdout.decode().strip() == "" and result.stderr.decode().strip() == ""


def _survey(event_id: str, ts: float, score: int) -> bytes:
    return orjson.dumps({"event_id": event_id, "type": "survey.nps", "ts": ts, "customer_id": "c-" + event_id, "score": score})


def test_late_events_are_dead_lettered_and_counted_and_grace_events_count(kafka, tmp_path):
    topics = Topics()
    topics.create(kafka.bootstrap_servers, partitions=1)  # one partition: arrival order is the produce order
    now = time.time()
    lines = [
        _survey("e1", now - 10, 10),  # watermark -> now-10
        _survey("e2", now - 50, 0),  # 40 s behind, within the 60 s grace: counts
        _survey("e3", now - 200, 10),  # 190 s behind: late
        _survey("e4", now - 30, 9),
    ]
    path = tmp_path / "late.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    worker = Worker(kafka.bootstrap_servers, topics, tmp_path, {"KPI_GRACE": "1m"})
    try:
        worker.wait_ready()
        produce(kafka.bootstrap_servers, topics, lines)
        scrape = worker.wait_consumed(4)
        # By hand: e1, e2, e4 count -> promoters 2 (10, 9), detractors 1 (0) -> NPS 100*(2-1)/3
        assert scrape.get("cxkpi_nps_score", window="5m") == pytest.approx(100 / 3)
        assert scrape.get("cxkpi_nps_responses", window="5m") == 3
        assert scrape.get("cxkpi_late_events_total") == 1
        assert scrape.get("cxkpi_events_rejected_total", reason="late") == 1
        dead = consume_all(kafka.bootstrap_servers, topics.name("dead_letter"), 1)
        assert len(dead) == 1
        assert dict(dead[0].headers)["reason"] == b"late"
        assert orjson.loads(dead[0].value)["event_id"] == "e3"
        rows = _replay_rows(path, "--grace", "1m")
        nps = [r for r in rows if r["kpi"] == "nps" and not r["labels"]]
        assert [r["value"] for r in nps if r["value"] is not None] == [pytest.approx(scrape.get("cxkpi_nps_score", window="24h"))]
    finally:
        worker.stop()


def test_open_ticket_crosses_its_sla_target_without_new_events(kafka, tmp_path):
    topics = Topics()
    topics.create(kafka.bootstrap_servers, partitions=1)
    target_seconds = 20
    created_at = time.time() - 5
    line = orjson.dumps({
        "event_id": "t1-c", "type": "ticket.created", "ts": created_at, "ticket_id": "t1", "customer_id": "c1",
        "team": "billing", "channel": "chat", "priority": "urgent",
    })
    worker = Worker(kafka.bootstrap_servers, topics, tmp_path, {"KPI_SLA_TARGETS": f'{{"urgent":"{target_seconds}s"}}'})
    try:
        worker.wait_ready()
        produce(kafka.bootstrap_servers, topics, [line])
        scrape = worker.wait_consumed(1)
        labels = {"team": "billing", "priority": "urgent"}
        assert scrape.get("cxkpi_sla_open_tickets", **labels) == 1
        if time.time() < created_at + target_seconds - 1:
            assert scrape.get("cxkpi_sla_breached_tickets", **labels) == 0
            assert scrape.get("cxkpi_sla_at_risk_tickets", within="15m", **labels) == 1
        # No further events: only the clock moves. One evaluation interval (1 s) after the
        # target passes, the gauge must show the breach.
        time.sleep(max(0.0, created_at + target_seconds - time.time()) + 1.0 + 1.0)
        scrape = worker.scrape()
        assert scrape.get("cxkpi_sla_breached_tickets", **labels) == 1
        assert scrape.get("cxkpi_sla_at_risk_tickets", within="15m", **labels) == 0
        assert scrape.get("cxkpi_sla_open_tickets", **labels) == 1
    finally:
        worker.stop()
