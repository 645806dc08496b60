from __future__ import annotations

import json
import subprocess
import urllib.request
from collections.abc import Callable
from pathlib import Path
from queue import Empty, Queue

import pytest
import yaml

from streams.stack.alertmanager import AlertmanagerServer, render_alertmanager_config


def test_rendered_config_routes_pages_and_tickets_to_their_receivers() -> None:
    config = yaml.safe_load(
        render_alertmanager_config(
            webhook_url="http://127.0.0.1:5555/hook",
            ticket_webhook_url="http://127.0.0.1:5556/queue",
            group_wait_seconds=1,
        )
    )
    route = config["route"]
    assert route["receiver"] == "kpi-ticket"  # unknown severities still reach someone
    assert route["group_wait"] == "1s"
    assert route["group_by"] == ["alertname", "team", "priority"]
    assert [(r["matchers"], r["receiver"]) for r in route["routes"]] == [
        (['severity="page"'], "kpi-page"),
        (['severity="ticket"'], "kpi-ticket"),
    ]
    assert route["repeat_interval"] == "4h"  # pages repeat
    assert route["routes"][1]["repeat_interval"] == "24h"  # tickets once a day
    assert config["receivers"] == [
        {"name": "kpi-page", "webhook_configs": [{"url": "http://127.0.0.1:5555/hook", "send_resolved": True}]},
        {"name": "kpi-ticket", "webhook_configs": [{"url": "http://127.0.0.1:5556/queue", "send_resolved": True}]},
    ]
    [inhibit] = config["inhibit_rules"]
    assert inhibit == {
        "source_matchers": ['severity="page"'],
        "target_matchers": ['severity="ticket"'],
        "equal": ["alertname", "team", "priority"],
    }


def test_one_webhook_serves_both_receivers_by_default() -> None:
    config = yaml.safe_load(render_alertmanager_config(webhook_url="http://127.0.0.1:5555/hook"))
    assert {r["webhook_configs"][0]["url"] for r in config["receivers"]} == {"http://127.0.0.1:5555/hook"}


@pytest.mark.integration
def test_rendered_config_passes_amtool(tmp_path: Path) -> None:
    config = tmp_path / "alertmanager.yml"
    config.write_text(render_alertmanager_config())
    result = subprocess.run(["amtool", "check-config", str(config)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.integration
@pytest.mark.parametrize(
    ("labels", "receiver"),
    [
        (["alertname=KpiSlaBreachedTickets", "severity=page", "team=billing", "priority=urgent"], "kpi-page"),
        (["alertname=KpiDataStale", "severity=ticket"], "kpi-ticket"),
        (["alertname=SomethingElse"], "kpi-ticket"),
    ],
)
def test_amtool_routes_by_severity(tmp_path: Path, labels: list[str], receiver: str) -> None:
    config = tmp_path / "alertmanager.yml"
    config.write_text(render_alertmanager_config())
    result = subprocess.run(
        ["amtool", "config", "routes", "test", f"--config.file={config}", *labels], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == receiver


@pytest.mark.integration
def test_an_alert_reaches_the_webhook(
    alertmanager_factory: Callable[..., AlertmanagerServer], webhook: tuple[str, Queue[dict]]
) -> None:
    url, received = webhook
    alertmanager = alertmanager_factory(webhook_url=url)
    alert = [{"labels": {"alertname": "StackTestAlert", "severity": "page"}, "annotations": {"summary": "test"}}]
    request = urllib.request.Request(
        f"{alertmanager.url}/api/v2/alerts",
        data=json.dumps(alert).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    urllib.request.urlopen(request, timeout=10).close()

    try:
        payload = received.get(timeout=20)
    except Empty:
        pytest.fail(f"no webhook call within 20 s; Alertmanager log:\n{alertmanager.log_tail()}")
    assert payload["status"] == "firing"
    assert payload["alerts"][0]["labels"]["alertname"] == "StackTestAlert"
    assert [a["labels"]["alertname"] for a in alertmanager.alerts()] == ["StackTestAlert"]


@pytest.mark.integration
def test_clustering_is_off(alertmanager_factory: Callable[..., AlertmanagerServer]) -> None:
    alertmanager = alertmanager_factory()
    with urllib.request.urlopen(f"{alertmanager.url}/api/v2/status", timeout=10) as response:
        status = json.loads(response.read())
    assert status["cluster"]["status"] == "disabled"
