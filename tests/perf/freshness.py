"""Event-to-metric freshness of a running `kpi-monitor worker`, at a steady input rate.

Method (see docs/benchmarks.md):

- A real `kpi-monitor worker` runs against fresh topics with KPI_EVALUATION_INTERVAL=1s.
- This process sends survey.nps events at a fixed rate, each with `ts` = its send time,
  and scrapes /metrics every ~100 ms. A scrape's time is when its response arrived.
- Per event (the headline): the KPI gauge `cxkpi_nps_responses{window="5m"}` counts the
  events that the latest evaluation included. Event k (in send order) is counted as
  visible at the first scrape whose count reaches k; its freshness is that scrape time
  minus its send time. This is the horizontal distance between the "sent" and the
  "visible in the KPI gauges" cumulative curves, so it includes consumer delay, processing,
  waiting for the next evaluation and the scrape period.
- Watermark (a cross-check, one sample per scrape during sending): scrape time minus
  `cxkpi_watermark_timestamp_seconds`, the newest event time of the latest evaluation.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
from array import array
from pathlib import Path

from workload import survey

SCRAPE_PERIOD_SECONDS = 0.1
WARMUP_EVENTS = 200
NPS_RESPONSES_5M = 'cxkpi_nps_responses{window="5m"} '
WATERMARK = "cxkpi_watermark_timestamp_seconds "


def percentile(sorted_values: list[float], q: float) -> float | None:
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_values:
        return None
    rank = max(1, min(len(sorted_values), int(-(-q * len(sorted_values) // 1))))
    return sorted_values[rank - 1]


def parse_metrics(text: str) -> tuple[int | None, float | None]:
    """(visible NPS responses in the 5m window, watermark) from one /metrics body."""
    visible = watermark = None
    for line in text.splitlines():
        if line.startswith(NPS_RESPONSES_5M):
            visible = int(float(line[len(NPS_RESPONSES_5M):]))
        elif line.startswith(WATERMARK):
            watermark = float(line[len(WATERMARK):])
    return visible, watermark


def per_event_latencies(sent_ts: array, scrapes: list[tuple[float, int]]) -> list[float]:
    """Latency of each event that became visible: first scrape counting it minus its send time."""
    latencies: list[float] = []
    seen = 0
    for t, count in scrapes:
        count = min(count, len(sent_ts))
        if count > seen:
            latencies.extend(t - sent_ts[k] for k in range(seen, count))
            seen = count
    return latencies


class WorkerProcess:
    """`python -m streams.cli worker` in its own session, output to a log file."""

    def __init__(self, env: dict[str, str], log_path: Path, cwd: Path) -> None:
        self.log_path = log_path
        with log_path.open("wb") as log:
            self.popen = subprocess.Popen(
                [sys.executable, "-m", "streams.cli", "worker"],
                env={**os.environ, **env},
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def stop(self) -> None:
        if self.popen.poll() is not None:
            return
        os.killpg(self.popen.pid, signal.SIGTERM)
        try:
            self.popen.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=10)


async def _scrape(session, url: str) -> tuple[float, int | None, float | None]:
    async with session.get(url) as response:
        body = await response.text()
    return (time.time(), *parse_metrics(body))


async def _wait_visible(session, url: str, at_least: int, timeout: float, worker: WorkerProcess) -> int:
    import aiohttp

    deadline = time.monotonic() + timeout
    while True:
        if worker.popen.poll() is not None:
            raise RuntimeError(f"worker exited with {worker.popen.returncode}; see {worker.log_path}")
        try:
            _, visible, _ = await _scrape(session, url)
            if visible is not None and visible >= at_least:
                return visible
        except (OSError, aiohttp.ClientError, asyncio.TimeoutError):
            pass  # not listening yet
        if time.monotonic() > deadline:
            raise TimeoutError(f"worker did not show {at_least} NPS responses at {url} in {timeout:.0f} s; see {worker.log_path}")
        await asyncio.sleep(0.2)


async def measure(
    *,
    bootstrap: str,
    topics: dict[str, str],
    batching: bool,
    rate: float,
    seconds: float,
    scratch: Path,
    cwd: Path,
    port: int,
) -> dict:
    import aiohttp
    from aiokafka import AIOKafkaProducer

    env = {
        "KPI_KAFKA__BOOTSTRAP_SERVERS": bootstrap,
        "KPI_WEB__PORT": str(port),
        "KPI_APP_ID": f"bench-fresh-{os.getpid()}-{port}",
        "KPI_DATA_DIR": str(scratch / f"worker-{port}"),
        "KPI_CONSUMER_BATCHING": "true" if batching else "false",
        "KPI_EVALUATION_INTERVAL": "1s",
        "KPI_LOG_LEVEL": "warning",
        **{f"KPI_TOPICS__{k.upper()}": v for k, v in topics.items()},
    }
    url = f"http://127.0.0.1:{port}/metrics"
    worker = WorkerProcess(env, scratch / f"worker-{port}.log", cwd)
    rng = random.Random(11)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=2, acks=1)
    await producer.start()
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session:
            # Warm-up: the worker has joined the group and evaluates when these are visible.
            for i in range(WARMUP_EVENTS):
                key, value = survey(i, time.time(), rng, prefix="w")
                await producer.send(topics["surveys"], value, key=key)
            await producer.flush()
            base = await _wait_visible(session, url, WARMUP_EVENTS, 120.0, worker)

            sent_ts = array("d")
            scrapes: list[tuple[float, int]] = []
            watermark_lags: list[float] = []
            sending = True
            start = time.time()
            end = start + seconds

            async def send_loop() -> None:
                nonlocal sending
                topic = topics["surveys"]
                i = 0
                while True:
                    now = time.time()
                    if now >= end:
                        break
                    due = int((now - start) * rate) - i
                    for _ in range(due):
                        ts = time.time()
                        key, value = survey(i, ts, rng, prefix="f")
                        await producer.send(topic, value, key=key)
                        sent_ts.append(ts)
                        i += 1
                    await asyncio.sleep(0.005)
                await producer.flush()
                sending = False

            async def scrape_loop() -> None:
                drain_deadline = None
                while True:
                    t_request = time.monotonic()
                    try:
                        t, visible, watermark = await _scrape(session, url)
                    except Exception:  # noqa: BLE001 - a slow scrape is a gap, not a failure
                        await asyncio.sleep(SCRAPE_PERIOD_SECONDS)
                        continue
                    if visible is not None:
                        scrapes.append((t, visible - base))
                    if sending and watermark is not None and t >= start + 2.0:
                        watermark_lags.append(t - watermark)
                    if not sending:
                        if scrapes and scrapes[-1][1] >= len(sent_ts):
                            return
                        drain_deadline = drain_deadline or time.monotonic() + 30.0
                        if time.monotonic() > drain_deadline:
                            return
                    await asyncio.sleep(max(0.0, SCRAPE_PERIOD_SECONDS - (time.monotonic() - t_request)))

            await asyncio.gather(send_loop(), scrape_loop())
    finally:
        await producer.stop()
        worker.stop()

    latencies = sorted(per_event_latencies(sent_ts, scrapes))
    watermark_lags.sort()
    return {
        "target_rate": rate,
        "achieved_rate": len(sent_ts) / seconds,
        "sent": len(sent_ts),
        "visible": max((c for _, c in scrapes), default=0),
        "scrapes": len(scrapes),
        "per_event_p50": percentile(latencies, 0.50),
        "per_event_p99": percentile(latencies, 0.99),
        "per_event_max": latencies[-1] if latencies else None,
        "watermark_p50": percentile(watermark_lags, 0.50),
        "watermark_p99": percentile(watermark_lags, 0.99),
    }
