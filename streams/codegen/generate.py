"""Every generated file and its text, from the model: the one place that maps
generators to paths."""

from __future__ import annotations

from pathlib import Path

from streams.codegen import names as n
from streams.codegen import provisioning, wall_page, writer
from streams.codegen.alert_rules import alert_rule_files
from streams.codegen.dashboards import build_dashboards
from streams.codegen.model import Model
from streams.codegen.recording_rules import recording_rule_groups


def generated_files(model: Model) -> dict[Path, str]:
    """Every file the spec gives, path -> its full text, sorted by path: the SLA recording rules
    and the alert rule files (deploy/prometheus/rules/), Grafana's datasource and dashboard
    provisioning and the dashboards (grafana/), and the /wall page (streams/static/).
    `writer.write` writes them, `writer.check` compares."""
    files: dict[Path, str] = {
        writer.RULES_DIR / n.SLA_RECORDING_FILE: writer.yaml_text(model, {"groups": recording_rule_groups(model)}),
    }
    for name, groups in alert_rule_files(model).items():
        files[writer.RULES_DIR / name] = writer.yaml_text(model, {"groups": groups})
    files[writer.DATASOURCES_DIR / provisioning.DATASOURCE_FILE] = writer.yaml_text(model, provisioning.datasources(model))
    files[writer.DASHBOARD_PROVIDERS_DIR / provisioning.PROVIDER_FILE] = writer.yaml_text(model, provisioning.dashboard_providers(model))
    for name, dashboard in build_dashboards(model).items():
        files[writer.DASHBOARDS_DIR / name] = writer.json_text(dashboard)
    files[writer.WALL_PAGE_DIR / wall_page.PAGE_FILE] = wall_page.build_page(model, writer.header_lines(model))
    return dict(sorted(files.items()))
