from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml
from prometheus_client import CollectorRegistry, Gauge, start_http_server

from streams.stack.errors import PortInUseError, ToolNotFoundError
from streams.stack.http_server import format_duration
from streams.stack.ports import free_port
from streams.stack.prometheus import PrometheusServer, render_prometheus_config


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(1.0, "1s"), (0.25, "250ms"), (15, "15s"), (60, "1m"), (90, "90s"), (14400, "4h")],
)
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


@pytest.mark.parametrize("seconds", [0, -1, 0.0001])
def test_format_duration_rejects_what_prometheus_cannot_express(seconds: float) -> None:
    with pytest.raises(ValueError):
        format_duration(seconds)


def test_rendered_config_scrapes_targets_and_pushes_to_alertmanager() -> None:
    config = yaml.safe_load(
        render_prometheus_config(
            scrape_targets=["127.0.0.1:6066", "127.0.0.1:6067"],
            rule_files=["/rules/*.yml"],
            alertmanager_targets=["127.0.0.1:9094"],
            scrape_interval_seconds=1,
            header="generated\nsecond line",
        )
    )
    assert config["global"] == {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"}
    assert config["rule_files"] == ["/rules/*.yml"]
    assert config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] == ["127.0.0.1:9094"]
    [job] = config["scrape_configs"]
    assert job["job_name"] == "kpi-monitor"
    assert job["static_configs"][0]["targets"] == ["127.0.0.1:6066", "127.0.0.1:6067"]


def test_scrape_timeout_never_exceeds_ten_seconds_and_no_targets_means_no_job() -> None:
    config = yaml.safe_load(render_prometheus_config(scrape_targets=[], scrape_interval_seconds=60))
    assert config["global"]["scrape_timeout"] == "10s"
    assert config["scrape_configs"] == []
    assert "alerting" not in config


@pytest.mark.integration
def test_rendered_config_passes_promtool(tmp_path: Path) -> None:
    config = tmp_path / "prometheus.yml"
    config.write_text(
        render_prometheus_config(
            scrape_targets=["127.0.0.1:6066"],
            rule_files=[str(tmp_path / "missing-dir" / "*.yml")],
            alertmanager_targets=["127.0.0.1:9094"],
            scrape_interval_seconds=0.5,
        )
    )
    result = subprocess.run(["promtool", "check", "config", str(config)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture
def metrics_endpoint() -> Iterator[str]:
    registry = CollectorRegistry()
    Gauge("stack_test_answer", "A fixed value to find in Prometheus", registry=registry).set(42)
    port = free_port()
    server, thread = start_http_server(port, addr="127.0.0.1", registry=registry)
    yield f"127.0.0.1:{port}"
    server.shutdown()
    thread.join(5)


def _wait_for(check: Callable[[], bool], timeout_seconds: float = 20) -> None:
    deadline = time.monotonic() + timeout_seconds
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.2)


@pytest.mark.integration
def test_prometheus_scrapes_a_live_metrics_endpoint(
    prometheus_factory: Callable[..., PrometheusServer], metrics_endpoint: str, tmp_path: Path
) -> None:
    # A rules folder that does not exist yet is fine: no rules are loaded.
    prometheus = prometheus_factory([metrics_endpoint], rule_files=[str(tmp_path / "no-rules" / "*.yml")])

    _wait_for(lambda: bool(prometheus.query("stack_test_answer")))

    [sample] = prometheus.query("stack_test_answer")
    assert sample["metric"]["job"] == "kpi-monitor"
    assert sample["metric"]["instance"] == metrics_endpoint
    assert float(sample["value"][1]) == 42
    assert [t["health"] for t in prometheus.active_targets()] == ["up"]
    assert prometheus.rule_groups() == []


@pytest.mark.integration
def test_rule_files_are_loaded_and_reloaded(prometheus_factory: Callable[..., PrometheusServer], tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    prometheus = prometheus_factory(rule_files=[str(rules / "*.yml")])
    assert prometheus.rule_groups() == []

    (rules / "test.yml").write_text("groups:\n  - name: g\n    rules:\n      - record: one\n        expr: vector(1)\n")
    prometheus.reload()

    assert [g["name"] for g in prometheus.rule_groups()] == ["g"]


@pytest.mark.integration
def test_stop_leaves_no_process(prometheus_factory: Callable[..., PrometheusServer]) -> None:
    prometheus = prometheus_factory()
    process = prometheus.process
    assert process is not None
    prometheus.stop()
    assert not prometheus.is_running and process.returncode is not None


@pytest.mark.integration
def test_taken_port_fails_fast(prometheus: PrometheusServer, tmp_path: Path) -> None:
    clash = PrometheusServer(tmp_path, port=prometheus.port)
    started = time.monotonic()
    with pytest.raises(PortInUseError, match=f"port {prometheus.port} .*Prometheus web port.*already in use"):
        clash.start()
    assert time.monotonic() - started < 2


def test_missing_binary_says_what_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ToolNotFoundError, match=r"prometheus not found on PATH.*apt-get install prometheus"):
        PrometheusServer(tmp_path)


@pytest.mark.integration
def test_debian_prometheus_is_installed() -> None:
    assert shutil.which("prometheus") and shutil.which("promtool")
