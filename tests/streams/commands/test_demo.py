"""`kpi-monitor demo`: pure helpers, option errors, and one run against a real stack.

The integration test runs the demo as a subprocess on its own state dir and free ports,
waits until the worker's /metrics counts events and Prometheus answers a query about
them, sends SIGINT and checks that every process the demo started is gone.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

import psutil
import pytest

from streams.cli import main
from streams.commands.demo import (
    BASE_GRACE_SECONDS,
    events_consumed,
    live_argv,
    parse_samples,
    prometheus_query_url,
    status_line,
    warmup_argv,
    worker_grace_seconds,
)
from streams.stack.ports import free_port, tcp_port_open

ROOT = Path(__file__).resolve().parents[3]

METRICS = """\
# HELP cxkpi_events_total Records consumed, by topic and outcome
# TYPE cxkpi_events_total counter
cxkpi_events_total{outcome="accepted",topic="surveys"} 12.0
cxkpi_events_total{outcome="accepted",topic="tickets"} 30.0
cxkpi_events_total{outcome="rejected",topic="tickets"} 1.0
cxkpi_nps_score{window="5m"} 27.5
cxkpi_nps_score{team="tech",window="5m"} -3.0
cxkpi_csat_ratio{window="1h"} 0.775
cxkpi_resolution_time_p50_seconds{window="1h"} 1500.0
"""


def test_prometheus_query_url_is_a_graph_link_with_the_query_encoded() -> None:
    url = prometheus_query_url("http://127.0.0.1:9090")
    assert url.startswith("http://127.0.0.1:9090/graph?")
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    assert query["g0.expr"] == ['cxkpi_nps_score{window="5m"}']
    assert query["g0.tab"] == ["0"]


def test_worker_grace_covers_the_warmup_burst() -> None:
    assert worker_grace_seconds(0) == BASE_GRACE_SECONDS
    assert worker_grace_seconds(3600) == 3600 + BASE_GRACE_SECONDS


def test_generator_commands() -> None:
    warm = warmup_argv("py", "k:1", start_seconds=1_700_000_000.7, warmup="1h", rate=20, seed=5)
    assert warm[:4] == ["py", "-m", "streams.cli", "generate"]
    assert warm[warm.index("--start") + 1] == "2023-11-14T22:13:20Z"
    assert "--no-realtime" in warm and warm[warm.index("--duration") + 1] == "1h"
    live = live_argv("py", "k:1", duration="24h", rate=20, seed=6)
    assert "--realtime" in live and live[live.index("--rate") + 1] == "20"
    assert live[live.index("--seed") + 1] == "6"


def test_status_line_reads_the_overall_samples_only() -> None:
    assert events_consumed(METRICS) == 43
    samples = parse_samples(METRICS, {"nps": 'cxkpi_nps_score{window="5m"}'})
    assert samples == {"nps": 27.5}
    line = status_line(METRICS)
    assert line.startswith("events 43")
    assert "NPS(5m) +27.5" in line and "CSAT(1h) 78%" in line and "resolution p50(1h) 25 min" in line


@pytest.mark.parametrize(
    "argv",
    [["--rate", "0"], ["--warmup", "soon"], ["--duration", "0"], ["--kafka-port", "70000"]],
)
def test_bad_options_exit_2_before_starting_anything(argv: list[str], tmp_path: Path, capsys) -> None:
    assert main(["demo", "--state-dir", str(tmp_path), *argv]) == 2
    assert "error" in capsys.readouterr().err
    assert not (tmp_path / "state.json").exists()


def _free_ports(n: int) -> list[int]:
    ports: set[int] = set()
    while len(ports) < n:
        ports.add(free_port())
    return sorted(ports)


def _get(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.read().decode()
    except OSError:
        return None


def _alive(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.mark.integration
@pytest.mark.timeout(240)
def test_demo_shows_live_numbers_and_sigint_leaves_nothing_running(tmp_path: Path) -> None:
    kafka_port, controller_port, prometheus_port, alertmanager_port, worker_port = _free_ports(5)
    state_dir = tmp_path / "stack"
    env = {k: v for k, v in os.environ.items() if not k.startswith("KPI_")}
    env["KPI_STACK_SCRAPE_INTERVAL_SECONDS"] = "1"
    argv = [
        sys.executable, "-m", "streams.cli", "demo",
        "--state-dir", str(state_dir),
        "--kafka-port", str(kafka_port), "--kafka-controller-port", str(controller_port),
        "--prometheus-port", str(prometheus_port), "--alertmanager-port", str(alertmanager_port),
        "--worker-metrics-address", f"127.0.0.1:{worker_port}",
        "--warmup", "10m", "--rate", "50",
    ]
    demo = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output: list[str] = []
    reader = threading.Thread(target=lambda: output.extend(demo.stdout), daemon=True)  # type: ignore[arg-type]
    reader.start()
    demo_proc = psutil.Process(demo.pid)
    started: dict[int, psutil.Process] = {}
    metrics_url = f"http://127.0.0.1:{worker_port}/metrics"
    query_url = f"http://127.0.0.1:{prometheus_port}/api/v1/query?" + urllib.parse.urlencode(
        {"query": "sum(cxkpi_events_total) > 0"}
    )
    began = time.monotonic()
    events = 0.0
    prometheus_has_data = False
    try:
        while time.monotonic() - began < 150:
            assert demo.poll() is None, "the demo exited early:\n" + "".join(output)
            for child in demo_proc.children(recursive=True):
                started.setdefault(child.pid, child)
            text = _get(metrics_url)
            events = events_consumed(text) if text else 0.0
            answer = _get(query_url)
            prometheus_has_data = bool(answer and json.loads(answer)["data"]["result"])
            if events > 0 and prometheus_has_data:
                break
            time.sleep(0.5)
        live_after = time.monotonic() - began
        assert events > 0, "no events on /metrics:\n" + "".join(output)
        assert prometheus_has_data, "Prometheus has no cxkpi_events_total:\n" + "".join(output)
    finally:
        if demo.poll() is None:
            demo.send_signal(signal.SIGINT)
        try:
            code = demo.wait(timeout=90)
        except subprocess.TimeoutExpired:
            demo.kill()
            raise
        reader.join(timeout=5)

    text = "".join(output)
    assert code == 0, text
    assert f"http://127.0.0.1:{worker_port}/metrics" in text
    assert f"http://127.0.0.1:{prometheus_port}/graph?g0.expr=" in text
    assert f"http://127.0.0.1:{prometheus_port}/alerts" in text
    assert f"http://127.0.0.1:{alertmanager_port}/#/alerts" in text
    assert "the stack too (this demo started it)" in text
    assert "demo stopped" in text

    names = {p.pid: " ".join(p.cmdline()[:4]) for p in started.values() if _alive(p)}
    assert not names, f"still running after SIGINT: {names}"
    # Worker, generator, Kafka (java), Prometheus and Alertmanager were all seen and are gone.
    assert len(started) >= 5, started
    leftovers = [
        p.pid for p in psutil.process_iter(["cmdline"])
        if any(str(state_dir) in arg for arg in (p.info["cmdline"] or []))
    ]
    assert leftovers == []
    for port in (kafka_port, prometheus_port, alertmanager_port, worker_port):
        assert not tcp_port_open(port), f"port {port} still open"
    print(f"live numbers after {live_after:.0f} s")
