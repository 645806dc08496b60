"""An Alertmanager (Debian's /usr/bin/prometheus-alertmanager), clustering off."""

from __future__ import annotations

import json
import string
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from streams.stack.http_server import HttpServer, find_binary, format_duration

PAGE_RECEIVER = "kpi-page"
TICKET_RECEIVER = "kpi-ticket"
# An example receiver: whatever listens here (a test, a chat relay) gets the
# Alertmanager webhook JSON. Nothing listening just means failed notifications.
DEFAULT_WEBHOOK_URL = "http://127.0.0.1:5001/alerts"

# Alerts carry severity page (act now) or ticket (working hours), see docs/runbook.md.
# Pages repeat every `repeat_interval`; tickets once a day. Anything without a known
# severity goes to the ticket receiver rather than nowhere.
_TEMPLATE = string.Template(
    """\
${header}route:
  receiver: ${ticket_receiver}
  group_by: ["alertname", "team", "priority"]
  group_wait: ${group_wait}
  group_interval: ${group_interval}
  repeat_interval: ${repeat_interval}
  routes:
    - matchers: ['severity="page"']
      receiver: ${page_receiver}
    - matchers: ['severity="ticket"']
      receiver: ${ticket_receiver}
      repeat_interval: ${ticket_repeat_interval}

# A page already has someone on it: hold back the ticket of the same alert, team and
# priority (e.g. the slow SLA burn while the fast one pages).
inhibit_rules:
  - source_matchers: ['severity="page"']
    target_matchers: ['severity="ticket"']
    equal: ["alertname", "team", "priority"]

receivers:
  - name: ${page_receiver}
    webhook_configs:
      - url: ${page_webhook_url}
        send_resolved: true
  - name: ${ticket_receiver}
    webhook_configs:
      - url: ${ticket_webhook_url}
        send_resolved: true
"""
)


def render_alertmanager_config(
    *,
    webhook_url: str = DEFAULT_WEBHOOK_URL,
    ticket_webhook_url: str | None = None,
    group_wait_seconds: float = 10.0,
    group_interval_seconds: float = 60.0,
    repeat_interval_seconds: float = 4 * 3600.0,
    ticket_repeat_interval_seconds: float = 24 * 3600.0,
    header: str = "",
) -> str:
    """Pages go to `webhook_url`, tickets to `ticket_webhook_url` (default: the same URL)."""
    return _TEMPLATE.substitute(
        header="".join(f"# {line}\n" if line else "#\n" for line in header.splitlines()),
        page_receiver=json.dumps(PAGE_RECEIVER),
        ticket_receiver=json.dumps(TICKET_RECEIVER),
        group_wait=format_duration(group_wait_seconds),
        group_interval=format_duration(group_interval_seconds),
        repeat_interval=format_duration(repeat_interval_seconds),
        ticket_repeat_interval=format_duration(ticket_repeat_interval_seconds),
        page_webhook_url=json.dumps(webhook_url),
        ticket_webhook_url=json.dumps(ticket_webhook_url or webhook_url),
    )


class AlertmanagerServer(HttpServer):
    """Alertmanager on 127.0.0.1:`port`, routing page and ticket alerts to their webhooks."""

    name = "alertmanager"
    port_purpose = "Alertmanager web port"

    def __init__(
        self,
        base_dir: Path,
        *,
        port: int | None = None,
        webhook_url: str = DEFAULT_WEBHOOK_URL,
        ticket_webhook_url: str | None = None,
        group_wait_seconds: float = 10.0,
        group_interval_seconds: float = 60.0,
        repeat_interval_seconds: float = 4 * 3600.0,
        binary: str | None = None,
        extra_args: Sequence[str] = (),
        ready_timeout_seconds: float = 30.0,
        stop_timeout_seconds: float = 15.0,
        port_hint: str = "AlertmanagerServer(port=...)",
    ) -> None:
        super().__init__(
            base_dir,
            port=port,
            binary=binary
            or find_binary(
                ["prometheus-alertmanager", "alertmanager"],
                "install it (Debian: apt-get install prometheus-alertmanager)",
            ),
            ready_timeout_seconds=ready_timeout_seconds,
            stop_timeout_seconds=stop_timeout_seconds,
            port_hint=port_hint,
        )
        self.webhook_url = webhook_url
        self.ticket_webhook_url = ticket_webhook_url
        self.group_wait_seconds = group_wait_seconds
        self.group_interval_seconds = group_interval_seconds
        self.repeat_interval_seconds = repeat_interval_seconds
        self.extra_args = tuple(extra_args)

    def render_config(self) -> str:
        """The Alertmanager configuration this server runs with (YAML text, written to its state
        folder at every start): the webhook receivers and the grouping waits and intervals it was
        built with."""
        return render_alertmanager_config(
            webhook_url=self.webhook_url,
            ticket_webhook_url=self.ticket_webhook_url,
            group_wait_seconds=self.group_wait_seconds,
            group_interval_seconds=self.group_interval_seconds,
            repeat_interval_seconds=self.repeat_interval_seconds,
            header="Rendered by streams/stack/alertmanager.py on every start; edits are overwritten.",
        )

    def argv(self) -> list[str]:
        """The command line: config file, storage path, the web listen address, gossip clustering
        off (it would otherwise bind 0.0.0.0:9094), then any extra arguments."""
        return [
            self.binary,
            f"--config.file={self.config_path}",
            f"--storage.path={self.data_dir}",
            f"--web.listen-address={self.address}",
            # Empty disables the gossip cluster, which would otherwise bind 0.0.0.0:9094.
            "--cluster.listen-address=",
            *self.extra_args,
        ]

    def alerts(self) -> list[dict[str, Any]]:
        """Current alerts (GET /api/v2/alerts)."""
        self._require_running()
        with urllib.request.urlopen(f"{self.url}/api/v2/alerts", timeout=10) as response:  # noqa: S310
            return list(json.loads(response.read()))
