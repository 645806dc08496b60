"""`kpi-monitor demo`: pure helpers, option errors, and one run against a real stack.

The integration tests run the demo as a subprocess on its own state dir and free ports:
every printed link answers 200, an alert posted to Alertmanager is printed in the demo's
output, SIGHUP (the terminal closing) and SIGKILL of the demo leave nothing it started
running, a second demo continues without a second warm-up, and `kpi-monitor stack down`
stops a running demo's worker and generator.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import psutil
import pytest

from streams.cli import main
from streams.commands.demo import (
    BASE_GRACE_SECONDS,
    demo_links,
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
    # Debian's Prometheus 2.42 serves its UI under /classic only (/graph redirects, /alerts is 404).
    assert url.startswith("http://127.0.0.1:9090/classic/graph?")
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    assert query["g0.expr"] == ['cxkpi_nps_score{window="5m"}']
    assert query["g0.tab"] == ["0"]
    assert prometheus_query_url("http://p:1", prefix="").startswith("http://p:1/graph?")


def test_demo_links_are_the_pages_that_exist_in_the_installed_versions() -> None:
    links = dict(demo_links(metrics_url="http://w:1/metrics", prometheus_url="http://p:2",
                            alertmanager_url="http://a:3", prefix="/classic"))
    assert links["alerts"] == "http://p:2/classic/alerts"
    assert links["targets"] == "http://p:2/classic/targets"
    # Debian's Alertmanager has no web UI: its API is what answers.
    assert links["alertmanager"] == "http://a:3/api/v2/alerts"
    assert links["metrics"] == "http://w:1/metrics"
    assert links["wall"] == "http://w:1/wall"


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


def _status(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return None


def _alive(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


class DemoRun:
    """One `kpi-monitor demo` subprocess on its own state dir and free ports, output collected."""

    def __init__(self, state_dir: Path, ports: list[int], *extra: str) -> None:
        kafka, controller, prometheus, alertmanager, worker, webhook = ports
        self.state_dir = state_dir
        self.metrics_url = f"http://127.0.0.1:{worker}/metrics"
        self.prometheus_url = f"http://127.0.0.1:{prometheus}"
        self.alertmanager_url = f"http://127.0.0.1:{alertmanager}"
        self.webhook_port = webhook
        env = {k: v for k, v in os.environ.items() if not k.startswith("KPI_")}
        env["KPI_STACK_SCRAPE_INTERVAL_SECONDS"] = "1"
        self.flags = [
            "--state-dir", str(state_dir),
            "--kafka-port", str(kafka), "--kafka-controller-port", str(controller),
            "--prometheus-port", str(prometheus), "--alertmanager-port", str(alertmanager),
            "--worker-metrics-address", f"127.0.0.1:{worker}",
            "--alert-webhook-url", f"http://127.0.0.1:{webhook}/alerts",
        ]
        self.env = env
        self.popen = subprocess.Popen(
            [sys.executable, "-m", "streams.cli", "demo", *self.flags, "--warmup", "10m", "--rate", "50", *extra],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        self.output: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        self.process = psutil.Process(self.popen.pid)
        self.seen: dict[int, psutil.Process] = {}

    def _read(self) -> None:
        try:
            for line in self.popen.stdout:  # type: ignore[union-attr]
                self.output.append(line)
        except (OSError, ValueError):  # the test closed the pipe (a terminal going away)
            pass

    @property
    def text(self) -> str:
        return "".join(self.output)

    def watch_children(self) -> None:
        try:
            for child in self.process.children(recursive=True):
                self.seen.setdefault(child.pid, child)
        except psutil.NoSuchProcess:
            pass

    def wait_for(self, what: str, condition, timeout: float = 150.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            assert self.popen.poll() is None, f"the demo exited early while waiting for {what}:\n{self.text}"
            assert time.monotonic() < deadline, f"no {what} within {timeout:.0f} s:\n{self.text}"
            self.watch_children()
            time.sleep(0.5)
        self.watch_children()

    def live(self) -> bool:
        text = _get(self.metrics_url)
        return bool(text) and events_consumed(text) > 0 and "Ctrl-C stops" in self.text

    def stop(self, sig: int = signal.SIGINT) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(sig)

    def finish(self, timeout: float = 90.0) -> int:
        try:
            return self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            raise
        finally:
            self.reader.join(timeout=5)

    def assert_nothing_left(self, within: float = 45.0) -> None:
        """Every process the demo started is gone, and nothing runs from its state dir."""
        deadline = time.monotonic() + within
        while True:
            names = {p.pid: " ".join(p.cmdline()[:4]) for p in self.seen.values() if _alive(p)}
            leftovers = [
                p.pid for p in psutil.process_iter(["cmdline"])
                if any(str(self.state_dir) in arg for arg in (p.info["cmdline"] or []))
            ]
            if not names and not leftovers or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert not names, f"still running: {names}"
        assert leftovers == []
        # Worker, live generator, Kafka (java), Prometheus and Alertmanager were all seen.
        assert len(self.seen) >= 5, {p: c.name() for p, c in self.seen.items()}


def _post_alert(alertmanager_url: str, name: str, summary: str) -> None:
    body = json.dumps([{"labels": {"alertname": name, "severity": "page"}, "annotations": {"summary": summary}}])
    request = urllib.request.Request(f"{alertmanager_url}/api/v2/alerts", data=body.encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200


@pytest.mark.integration
@pytest.mark.timeout(300)
def test_demo_links_answer_alerts_print_and_sighup_leaves_nothing_running(tmp_path: Path) -> None:
    demo = DemoRun(tmp_path / "stack", _free_ports(6))
    try:
        demo.wait_for("live numbers on /metrics", demo.live)
        query = f"{demo.prometheus_url}/api/v1/query?" + urllib.parse.urlencode({"query": "sum(cxkpi_events_total) > 0"})
        demo.wait_for("cxkpi_events_total in Prometheus", lambda: bool(json.loads(_get(query) or '{"data":{"result":[]}}')["data"]["result"]))
        text = demo.text
        assert "starting clean: the topics are empty" in text and "warm-up: sending the last 10m" in text
        # Every printed link answers 200 from the installed Prometheus and Alertmanager.
        links = re.findall(r"^  (wall|metrics|prometheus|alerts|targets|alertmanager) +(http\S+)$", text, re.M)
        assert [label for label, _ in links] == ["wall", "metrics", "prometheus", "alerts", "targets", "alertmanager"], text
        assert {url: _status(url) for _, url in links} == {url: 200 for _, url in links}
        assert f"{demo.prometheus_url}/classic/alerts" in text
        assert f"{demo.alertmanager_url}/api/v2/alerts" in text
        assert f"http://127.0.0.1:{demo.webhook_port}/alerts: each alert Alertmanager sends is printed here" in text
        # An alert reaches the demo's terminal: Alertmanager -> webhook -> one line.
        _post_alert(demo.alertmanager_url, "DemoSmokeAlert", "a test alert from the demo's test")
        demo.wait_for("the alert line", lambda: "alert firing   DemoSmokeAlert: a test alert from the demo's test" in demo.text, 60)
    finally:
        # Closing the terminal: the output goes away and SIGHUP arrives.
        demo.popen.stdout.close()  # type: ignore[union-attr]
        demo.stop(signal.SIGHUP)
        code = demo.finish()
    assert code == 0
    demo.assert_nothing_left()
    for url in (demo.metrics_url, demo.prometheus_url, demo.alertmanager_url):
        port = int(url.rsplit(":", 1)[1].split("/")[0])
        assert not tcp_port_open(port), f"port {port} still open"


@pytest.mark.integration
@pytest.mark.timeout(420)
def test_a_killed_demo_takes_its_children_and_the_next_one_continues_until_stack_down(tmp_path: Path) -> None:
    state_dir = tmp_path / "stack"
    ports = _free_ports(6)
    first = DemoRun(state_dir, ports)
    try:
        first.wait_for("live numbers on /metrics", first.live)
        time.sleep(2)
        first.watch_children()
    finally:
        first.popen.kill()  # no clean-up of its own: the kernel signals its children
        first.finish()
    first.assert_nothing_left()

    second = DemoRun(state_dir, ports)
    try:
        second.wait_for("live numbers on /metrics", second.live)
        text = second.text
        assert "continuing: the topics already hold" in text and "no warm-up is sent" in text, text
        assert "warm-up: sending" not in text
        # One warm-up burst in the generator's log: the first run's.
        assert (state_dir / "demo" / "generator.log").read_text().count("--no-realtime") == 1
        status = subprocess.run([sys.executable, "-m", "streams.cli", "stack", "status", *second.flags],
                                cwd=ROOT, env=second.env, capture_output=True, text=True, timeout=60)
        assert "demo-worker" in status.stdout and "demo-generator" in status.stdout, status.stdout
        down = subprocess.run([sys.executable, "-m", "streams.cli", "stack", "down", *second.flags],
                              cwd=ROOT, env=second.env, capture_output=True, text=True, timeout=180)
        assert down.returncode == 0, down.stderr
        assert "demo-generator: stopped" in down.stderr and "demo-worker: stopped" in down.stderr
        code = second.finish()  # the demo ends by itself once `stack down` took its worker
    finally:
        if second.popen.poll() is None:  # only on a failure above: a signal now would race its own exit
            second.stop()
            second.finish()
    assert code == 0, second.text
    assert "the worker was stopped by `kpi-monitor stack down`" in second.text
    second.assert_nothing_left()
