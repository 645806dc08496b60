"""End to end: a real worker with a 5 s urgent target, scraped by a real Prometheus with the
generated rules, fires the SLA breach alert through a real Alertmanager to a webhook this
test runs; the page and ticket severities reach their own receivers."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from queue import Empty, Queue

import orjson
import pytest
import yaml

from streams.codegen import writer
from streams.stack.alertmanager import AlertmanagerServer
from streams.stack.prometheus import PrometheusServer
from tests.streams.codegen.codegen_support import rule_files
from tests.streams.worker_harness import Topics, Worker, produce

pytestmark = pytest.mark.integration


def rules_without_for(target_dir: Path) -> list[str]:
    """The generated rule files with every `for:` removed, so alerts fire on the first
    evaluation instead of after production delays. Nothing else changes."""
    target_dir.mkdir(parents=True, exist_ok=True)
    for path in rule_files():
        data = yaml.safe_load(path.read_text())
        for group in data["groups"]:
            for rule in group["rules"]:
                rule.pop("for", None)
        (target_dir / path.name).write_text(yaml.safe_dump(data, sort_keys=False))
    return [str(target_dir / "*.yml")]


def _wait_for_alert(received: Queue[dict], history: list[dict], alertname: str, timeout_seconds: float,
                    logs: Callable[[], str]) -> tuple[dict, dict]:
    """(notification, alert) of the first firing notification carrying `alertname`.
    Every notification read is kept in `history`, so a later wait sees earlier arrivals."""
    deadline = time.monotonic() + timeout_seconds
    while True:
        for payload in history:
            for alert in payload["alerts"]:
                if alert["labels"].get("alertname") == alertname and alert["status"] == "firing":
                    return payload, alert
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        try:
            history.append(received.get(timeout=remaining))
        except Empty:
            break
    seen = [(p["receiver"], a["labels"].get("alertname"), a["status"]) for p in history for a in p["alerts"]]
    pytest.fail(f"no firing {alertname} at the webhook in {timeout_seconds} s; received {seen}\n{logs()}")


def test_sla_breach_alert_reaches_the_webhook_through_alertmanager(
    kafka, tmp_path: Path, webhook: tuple[str, Queue[dict]],
    prometheus_factory: Callable[..., PrometheusServer], alertmanager_factory: Callable[..., AlertmanagerServer],
) -> None:
    url, received = webhook
    topics = Topics()
    topics.create(kafka.bootstrap_servers, partitions=1)
    worker = Worker(kafka.bootstrap_servers, topics, tmp_path, {"KPI_SLA_TARGETS": '{"urgent":"5s"}'})
    try:
        worker.wait_ready()
        alertmanager = alertmanager_factory(webhook_url=url)
        prometheus = prometheus_factory(
            [f"127.0.0.1:{worker.port}"],
            rule_files=rules_without_for(tmp_path / "rules"),
            alertmanager_targets=[alertmanager.address],
        )
        ticket = {"event_id": "t1-c", "type": "ticket.created", "ts": time.time() - 10, "ticket_id": "t1", "customer_id": "c1",
                  "team": "billing", "channel": "chat", "priority": "urgent"}
        produce(kafka.bootstrap_servers, topics, [orjson.dumps(ticket)])

        def logs() -> str:
            return f"Prometheus:\n{prometheus.log_tail()}\nAlertmanager:\n{alertmanager.log_tail()}"

        history: list[dict] = []
        payload, alert = _wait_for_alert(received, history, "KpiSlaBreachedTickets", 90, logs)
        assert payload["receiver"] == "kpi-page"
        assert alert["labels"] == {"alertname": "KpiSlaBreachedTickets", "severity": "page", "team": "billing", "priority": "urgent"}
        assert alert["annotations"]["summary"] == "1 open urgent ticket(s) of team billing are past their resolution target"
        assert alert["annotations"]["description"].startswith("1 open urgent ticket(s) of team billing are already past")
        # Absolute links the receiver can open: the runbook section and the dashboard filtered to the alert.
        assert alert["annotations"]["runbook_url"] == "https://github.com/kpi-monitor/kpi-monitor/blob/main/docs/runbook.md#kpislabreachedtickets"
        assert alert["annotations"]["dashboard_url"] == "http://127.0.0.1:3000/d/kpi-support-ops?var-team=billing&var-priority=urgent"

        # The worker's 5 s target is not the spec's 4h: that is a ticket, for the ticket receiver.
        payload, alert = _wait_for_alert(received, history, "KpiSlaTargetMismatch", 60, logs)
        assert payload["receiver"] == "kpi-ticket"
        assert alert["labels"]["severity"] == "ticket" and alert["labels"]["priority"] == "urgent"
        assert "uses 5s as the urgent resolution target" in alert["annotations"]["description"]
    finally:
        worker.stop()


def test_committed_rules_keep_their_production_for_durations() -> None:
    """The test above strips `for:` from copies; the committed files keep them."""
    text = (writer.RULES_DIR / "sla-alerts.yml").read_text()
    assert "for: 5m" in text
