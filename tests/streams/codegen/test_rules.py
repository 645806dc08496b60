"""The generated rules: promtool accepts them, promtool unit tests pass, every alert has a
fire and a no-fire case, complete annotations and a runbook section."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from streams.codegen import writer
from streams.codegen.alert_rules import alert_rule_files
from streams.codegen.model import build_model
from streams.codegen.spec import parse_spec
from tests.streams.codegen.codegen_support import (
    PROMTOOL_TESTS_DIR,
    RUNBOOK,
    alert_rules,
    dashboards,
    exposed_metric_names,
    files,
    metric_names_in,
    panels,
    recorded_names_in,
    recording_rules,
    rule_files,
)


def _promtool() -> str:
    found = shutil.which("promtool")
    assert found, "promtool is required (Debian: apt-get install prometheus)"
    return found


PROMTOOL_TESTS = sorted(PROMTOOL_TESTS_DIR.glob("*.test.yml"))


@pytest.mark.parametrize("path", rule_files(), ids=lambda p: p.name)
def test_promtool_check_rules(path: Path) -> None:
    result = subprocess.run([_promtool(), "check", "rules", str(path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


@pytest.mark.parametrize("path", PROMTOOL_TESTS, ids=lambda p: p.name)
def test_promtool_unit_tests(path: Path) -> None:
    result = subprocess.run([_promtool(), "test", "rules", path.name], cwd=path.parent, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def _cases() -> dict[str, dict[str, int]]:
    """alertname -> {'fire': n, 'quiet': n} over every promtool test file."""
    cases: dict[str, dict[str, int]] = {}
    for path in PROMTOOL_TESTS:
        spec = yaml.safe_load(path.read_text())
        for group in spec["tests"]:
            assert "interval" in group, f"{path.name}: {group.get('name')}: set `interval` (promtool 2.42 needs it)"
            for case in group.get("alert_rule_test", []):
                counts = cases.setdefault(case["alertname"], {"fire": 0, "quiet": 0})
                counts["fire" if case.get("exp_alerts") else "quiet"] += 1
    return cases


def test_promtool_tests_cover_every_alert_firing_and_not_firing() -> None:
    cases = _cases()
    names = {rule["alert"] for rule in alert_rules()}
    missing = sorted(name for name in names if not cases.get(name, {}).get("fire") or not cases.get(name, {}).get("quiet"))
    assert missing == [], "alerts without both a firing and a non-firing promtool case"
    assert set(cases) <= names, "promtool cases for alerts that no longer exist"


def test_promtool_tests_load_the_committed_rule_files() -> None:
    loaded = set()
    for path in PROMTOOL_TESTS:
        for rule_file in yaml.safe_load(path.read_text())["rule_files"]:
            loaded.add((path.parent / rule_file).resolve())
    assert loaded == {p.resolve() for p in rule_files()}


def _runbook_anchors(prefix: str = "#") -> set[str]:
    """GitHub-style anchors of the runbook's headings (alert sections are `###`)."""
    anchors = set()
    for line in RUNBOOK.read_text().splitlines():
        if line.startswith(prefix):
            title = line.lstrip("#").strip().lower()
            anchors.add(re.sub(r"[^a-z0-9 _-]", "", title).replace(" ", "-"))
    return anchors


# Alerts whose value is a 0/1 flag: a number in their summary would say nothing.
FLAG_ALERTS = {"KpiLabelValuesCapped"}


@pytest.mark.parametrize("rule", alert_rules(), ids=lambda r: f"{r['alert']}-{r['labels']['severity']}-{r['labels'].get('burn_window', '')}")
def test_alert_has_severity_summary_value_runbook_and_dashboard(rule: dict) -> None:
    assert rule["labels"]["severity"] in {"page", "ticket"}
    annotations = rule["annotations"]
    assert set(annotations) == {"summary", "description", "runbook_url", "dashboard_url"}
    assert annotations["summary"].strip()
    assert "$value" in annotations["description"], "the description must show the value"
    if rule["alert"] not in FLAG_ALERTS:
        assert "$value" in annotations["summary"], "the summary (what a pager shows) must show the value"
    anchor = rule["alert"].lower()
    # Absolute: Alertmanager, Slack and PagerDuty cannot open a path relative to this checkout.
    assert annotations["runbook_url"] == f"https://github.com/kpi-monitor/kpi-monitor/blob/main/docs/runbook.md#{anchor}"
    assert anchor in _runbook_anchors(), f"docs/runbook.md has no section {rule['alert']}"
    dashboard = re.fullmatch(r"http://127\.0\.0\.1:3000/d/([\w-]+)(\?.*)?", annotations["dashboard_url"])
    assert dashboard, annotations["dashboard_url"]
    assert dashboard.group(1) in dashboards(), "the link must open a dashboard this spec generates"
    for name in re.findall(r"var-(\w+)=", dashboard.group(2) or ""):
        assert name in {v["name"] for v in dashboards()[dashboard.group(1)].get("templating", {}).get("list", [])}


def test_alert_links_go_where_the_spec_says(tmp_path: Path) -> None:
    raw = yaml.safe_load((writer.REPO_ROOT / "deploy/spec/kpi-spec.v1.yaml").read_text())
    raw["runbook_url"] = "https://wiki.example.com/kpi/runbook"
    raw["grafana"]["url"] = "https://grafana.example.com/"
    model = build_model(parse_spec(raw))
    rules = {r["alert"]: r for name, groups in alert_rule_files(model).items() for g in groups for r in g["rules"]}
    nps = rules["KpiNpsBelowTarget"]["annotations"]
    assert nps["runbook_url"] == "https://wiki.example.com/kpi/runbook#kpinpsbelowtarget"
    assert nps["dashboard_url"] == "https://grafana.example.com/d/kpi-support-ops?var-window=24h"


def test_runbook_has_a_section_per_alert_and_no_orphans() -> None:
    names = {rule["alert"].lower() for rule in alert_rules()}
    sections = _runbook_anchors("### ")
    assert sections == names


def test_every_series_named_is_one_the_worker_exposes_or_a_rule_records() -> None:
    exposed = exposed_metric_names()
    recorded = {r["record"] for r in recording_rules()}
    exprs = [r["expr"] for r in (*alert_rules(), *recording_rules())]
    exprs += [t["expr"] for d in dashboards().values() for p in panels(d) for t in p.get("targets", [])]
    unknown = {name for e in exprs for name in metric_names_in(e)} - exposed
    assert unknown == set(), "names not in streams/conventions.py"
    assert {name for e in exprs for name in recorded_names_in(e)} <= recorded


def test_histogram_buckets_match_the_exposed_text() -> None:
    """Prometheus 2.x keeps le as written; client_python writes 14400.0, never 14400."""
    text = "".join(files()[p] for p in rule_files())
    buckets = set(re.findall(r'le="([^"]+)"', text))
    assert buckets == {"14400.0", "28800.0", "86400.0", "259200.0"}


def test_rule_files_are_what_prometheus_loads() -> None:
    config = yaml.safe_load((writer.REPO_ROOT / "deploy" / "prometheus" / "prometheus.yml").read_text())
    assert config["rule_files"] == ["rules/*.yml"]
    assert all(p.parent == writer.RULES_DIR and p.suffix == ".yml" for p in rule_files())
