"""Every dashboard panel's and every rule's PromQL, run against a real Prometheus that scrapes
a real worker fed through the test broker: each returns data (no "No data" panel), and the
generated rules load and evaluate without errors."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from streams.codegen import writer
from tests.streams.codegen.codegen_support import alert_rules, dashboards, panels, recording_rules
from tests.streams.codegen.live_stack import LiveStack, finite_values, live_stack

pytestmark = pytest.mark.integration

ALL = ".*"  # the dashboards' allValue


@pytest.fixture(scope="module")
def live(kafka, tmp_path_factory) -> Iterator[LiveStack]:
    with live_stack(kafka, tmp_path_factory.mktemp("codegen-live"), [str(writer.RULES_DIR / "*.yml")]) as stack:
        yield stack


def _panel_queries() -> list[tuple[str, dict[str, Any], str, str]]:
    out = []
    for uid, d in sorted(dashboards().items()):
        for p in panels(d):
            for t in p.get("targets", []):
                out.append((uid, d, p["title"], t["expr"]))
    return out


PANEL_QUERIES = _panel_queries()


def _variable_values(dashboard: dict[str, Any], live: LiveStack) -> dict[str, list[str]]:
    """Each template variable's values, as Grafana would offer them, resolved against live data."""
    values: dict[str, list[str]] = {}
    for v in dashboard.get("templating", {}).get("list", []):
        if v["type"] == "custom":
            values[v["name"]] = [x.strip() for x in v["query"].split(",")]
        elif v["type"] == "query":
            m = re.fullmatch(r"label_values\((.+),\s*(\w+)\)", v["query"])
            assert m, f"unsupported variable query {v['query']!r}"
            selector, label = m.groups()
            values[v["name"]] = sorted({r["metric"][label] for r in live.query(f"group by ({label}) ({selector})")})
        else:
            raise AssertionError(f"variable type {v['type']} is not handled by this test")
    return values


def _substitutions(dashboard: dict[str, Any], live: LiveStack) -> list[dict[str, str]]:
    """What to put in for the variables: every multi-value variable as All, every single-value
    variable (the KPI window) in each of its values."""
    variables = {v["name"]: v for v in dashboard.get("templating", {}).get("list", [])}
    values = _variable_values(dashboard, live)
    fixed = {name: ALL for name, v in variables.items() if v.get("includeAll")}
    single = [name for name, v in variables.items() if not v.get("includeAll")]
    if not single:
        return [fixed]
    [name] = single
    return [{**fixed, name: value} for value in values[name]]


def _substitute(expr: str, values: dict[str, str]) -> str:
    out = re.sub(r"\$\{?(\w+)\}?", lambda m: values.get(m.group(1), m.group(0)), expr)
    assert "$" not in out, f"unsubstituted variable in {out}"
    return out


@pytest.mark.parametrize(("uid", "dashboard", "title", "expr"), PANEL_QUERIES, ids=[f"{q[0]}:{q[2]}:{i}" for i, q in enumerate(PANEL_QUERIES)])
def test_panel_query_returns_data(live: LiveStack, uid: str, dashboard: dict[str, Any], title: str, expr: str) -> None:
    for values in _substitutions(dashboard, live):
        query = _substitute(expr, values)
        result = live.query(query)
        assert finite_values(result), f"{uid} / {title}: no data for {query} (got {result})"


@pytest.mark.parametrize("uid", sorted(dashboards()))
def test_template_variables_offer_real_values(live: LiveStack, uid: str) -> None:
    values = _variable_values(dashboards()[uid], live)
    for name, options in values.items():
        assert options, f"{uid}: variable {name} offers nothing"
    if uid == "kpi-support-ops":
        assert {"billing", "tech", "returns"} <= set(values["team"])
        assert {"email", "chat"} <= set(values["channel"])


def test_the_generated_rules_load_and_evaluate_cleanly(live: LiveStack) -> None:
    groups = live.prometheus.rule_groups()
    loaded = {r["name"] for g in groups for r in g["rules"]}
    assert {r["record"] for r in recording_rules()} | {r["alert"] for r in alert_rules()} <= loaded
    bad = [(r["name"], r.get("lastError")) for g in groups for r in g["rules"] if r.get("health") != "ok"]
    assert bad == []


@pytest.mark.parametrize("record", sorted({r["record"] for r in recording_rules()}))
def test_recorded_series_has_data(live: LiveStack, record: str) -> None:
    assert finite_values(live.query(record)), f"{record} recorded nothing finite"


_OPERAND_SPLIT = re.compile(r"\n(?:and|or)\n")
_COMPARISON = re.compile(r"\s*(?:>=|<=|==|!=|>|<)\s*\(?[-0-9.e+* ]+\)?\s*$")


def _operands(expr: str) -> list[str]:
    """The value parts of an alert expression: each side of and/or, without its threshold."""
    out = []
    for part in _OPERAND_SPLIT.split(expr.strip()):
        labelled = re.fullmatch(r'label_replace\((.+)(?:, "[^"]*"){4}\)', part.strip())
        part = labelled.group(1) if labelled else part
        part = _COMPARISON.sub("", part.strip())
        absent = re.fullmatch(r"absent\((.+)\)", part)
        out.append(absent.group(1) if absent else part)
    return out


ALERT_OPERANDS = sorted({(r["alert"], operand) for r in alert_rules() for operand in _operands(r["expr"])})


@pytest.mark.parametrize(("alert", "operand"), ALERT_OPERANDS, ids=[f"{a}:{i}" for i, (a, _) in enumerate(ALERT_OPERANDS)])
def test_alert_inputs_have_data(live: LiveStack, alert: str, operand: str) -> None:
    """The alert may rightly be quiet, but what it compares must exist, or it could never fire."""
    assert finite_values(live.query(operand)), f"{alert}: {operand} returns no data"


def test_alert_expressions_run(live: LiveStack) -> None:
    for rule in alert_rules():
        live.query(rule["expr"])  # raises on a PromQL error


def test_breached_and_at_risk_tickets_show_up(live: LiveStack) -> None:
    """The old tickets: urgent ones past 4h count as breached; one 3.9h old is at risk."""
    breached = {(r["metric"]["team"], r["metric"]["priority"]): float(r["value"][1])
                for r in live.query("sum by (team, priority) (cxkpi_sla_breached_tickets) > 0")}
    assert breached.get(("returns", "urgent")) == 1  # old-5
    at_risk = live.query('sum by (team, priority) (cxkpi_sla_at_risk_tickets{within="15m"}) > 0')
    assert [(r["metric"]["team"], r["metric"]["priority"]) for r in at_risk] == [("tech", "urgent")]  # old-1
    late = live.query('priority:cxkpi_sla_errors:ratio_rate1d{priority="urgent"}')
    assert finite_values(late) and finite_values(late)[0] > 0  # old-0 was resolved after 5h
