"""A Prometheus server (Debian's /usr/bin/prometheus) with its own config and TSDB."""

from __future__ import annotations

import json
import string
import urllib.parse
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from streams.stack.errors import StackError
from streams.stack.http_server import HttpServer, find_binary, format_duration
from streams.stack.paths import PROMETHEUS_RULES_DIR

DEFAULT_JOB_NAME = "kpi-monitor"
DEFAULT_RULE_FILES = (str(PROMETHEUS_RULES_DIR / "*.yml"),)
# Prometheus refuses a scrape timeout longer than the scrape interval.
MAX_SCRAPE_TIMEOUT_SECONDS = 10.0

# Strings and lists are written as JSON, which is valid YAML flow syntax, so
# targets and paths need no YAML escaping rules of their own.
_TEMPLATE = string.Template(
    """\
${header}global:
  scrape_interval: ${scrape_interval}
  scrape_timeout: ${scrape_timeout}
  evaluation_interval: ${evaluation_interval}

# Globs; a missing or empty rules folder is fine (no rules loaded).
rule_files: ${rule_files}
${alerting}
scrape_configs:${scrape_configs}
"""
)

_ALERTING = string.Template(
    """
alerting:
  alertmanagers:
    - static_configs:
        - targets: ${targets}
"""
)

_SCRAPE_JOB = string.Template(
    """
  - job_name: ${job_name}
    static_configs:
      - targets: ${targets}"""
)


def render_prometheus_config(
    *,
    scrape_targets: Sequence[str],
    rule_files: Sequence[str] = DEFAULT_RULE_FILES,
    alertmanager_targets: Sequence[str] = (),
    scrape_interval_seconds: float = 15.0,
    evaluation_interval_seconds: float | None = None,
    job_name: str = DEFAULT_JOB_NAME,
    header: str = "",
) -> str:
    """prometheus.yml text. Targets are host:port; the worker serves /metrics."""
    evaluation = scrape_interval_seconds if evaluation_interval_seconds is None else evaluation_interval_seconds
    alerting = _ALERTING.substitute(targets=json.dumps(list(alertmanager_targets))) if alertmanager_targets else ""
    scrape_configs = (
        _SCRAPE_JOB.substitute(job_name=json.dumps(job_name), targets=json.dumps(list(scrape_targets)))
        if scrape_targets
        else " []"
    )
    return _TEMPLATE.substitute(
        header="".join(f"# {line}\n" if line else "#\n" for line in header.splitlines()),
        scrape_interval=format_duration(scrape_interval_seconds),
        scrape_timeout=format_duration(min(scrape_interval_seconds, MAX_SCRAPE_TIMEOUT_SECONDS)),
        evaluation_interval=format_duration(evaluation),
        rule_files=json.dumps(list(rule_files)),
        alerting=alerting,
        scrape_configs=scrape_configs,
    )


class PrometheusServer(HttpServer):
    """Prometheus on 127.0.0.1:`port` scraping `scrape_targets` (host:port of /metrics)."""

    name = "prometheus"
    port_purpose = "Prometheus web port"

    def __init__(
        self,
        base_dir: Path,
        *,
        port: int | None = None,
        scrape_targets: Sequence[str] = (),
        rule_files: Sequence[str] = DEFAULT_RULE_FILES,
        alertmanager_targets: Sequence[str] = (),
        scrape_interval_seconds: float = 15.0,
        evaluation_interval_seconds: float | None = None,
        job_name: str = DEFAULT_JOB_NAME,
        binary: str | None = None,
        extra_args: Sequence[str] = (),
        ready_timeout_seconds: float = 30.0,
        stop_timeout_seconds: float = 15.0,
        port_hint: str = "PrometheusServer(port=...)",
    ) -> None:
        super().__init__(
            base_dir,
            port=port,
            binary=binary
            or find_binary(["prometheus"], "install it (Debian: apt-get install prometheus)"),
            ready_timeout_seconds=ready_timeout_seconds,
            stop_timeout_seconds=stop_timeout_seconds,
            port_hint=port_hint,
        )
        self.scrape_targets = tuple(scrape_targets)
        self.rule_files = tuple(rule_files)
        self.alertmanager_targets = tuple(alertmanager_targets)
        self.scrape_interval_seconds = scrape_interval_seconds
        self.evaluation_interval_seconds = evaluation_interval_seconds
        self.job_name = job_name
        self.extra_args = tuple(extra_args)

    def render_config(self) -> str:
        """The prometheus.yml this server runs with (written to its folder at every start): its
        scrape targets and interval, rule files, Alertmanager targets, evaluation interval and
        job name."""
        return render_prometheus_config(
            scrape_targets=self.scrape_targets,
            rule_files=self.rule_files,
            alertmanager_targets=self.alertmanager_targets,
            scrape_interval_seconds=self.scrape_interval_seconds,
            evaluation_interval_seconds=self.evaluation_interval_seconds,
            job_name=self.job_name,
            header="Rendered by streams/stack/prometheus.py on every start; edits are overwritten.",
        )

    def argv(self) -> list[str]:
        """The command line: config file, TSDB path, the listen address, the lifecycle API (POST
        /-/reload), then any extra arguments."""
        return [
            self.binary,
            f"--config.file={self.config_path}",
            f"--storage.tsdb.path={self.data_dir}",
            f"--web.listen-address={self.address}",
            # Lets tests and people reload rules (POST /-/reload) without a restart.
            "--web.enable-lifecycle",
            *self.extra_args,
        ]

    def _api(self, path: str, params: dict[str, str] | None = None, method: str = "GET") -> Any:
        self._require_running()
        url = f"{self.url}{path}"
        if params:
            url += "?" + urllib.parse.urlencode(params)
        request = urllib.request.Request(url, method=method)
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback only
            body = response.read()
        return json.loads(body) if body else None

    def reload(self) -> None:
        """Re-read the config file and rule files (POST /-/reload)."""
        self._require_running()
        request = urllib.request.Request(f"{self.url}/-/reload", method="POST")
        urllib.request.urlopen(request, timeout=10).close()  # noqa: S310 - loopback only

    def query(self, expr: str) -> list[dict[str, Any]]:
        """Instant query; the `result` list of /api/v1/query."""
        payload = self._api("/api/v1/query", {"query": expr})
        if payload.get("status") != "success":
            raise StackError(f"query {expr!r} failed: {payload}")
        return list(payload["data"]["result"])

    def active_targets(self) -> list[dict[str, Any]]:
        """/api/v1/targets activeTargets: scrapeUrl, health, lastError, labels..."""
        return list(self._api("/api/v1/targets")["data"]["activeTargets"])

    def rule_groups(self) -> list[dict[str, Any]]:
        """The rule groups Prometheus has loaded (/api/v1/rules `groups`: each with its name,
        file and rules with their health and last error)."""
        return list(self._api("/api/v1/rules")["data"]["groups"])
