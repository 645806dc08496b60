"""The dashboards and provisioning files, checked against the dashboard model without a
Grafana server: schema version, stable uids, grid, datasource, targets, variables."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import yaml
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import Dashboard

from streams import conventions as c
from streams.codegen import writer
from streams.codegen.provisioning import DATASOURCE_FILE, PROVIDER_FILE
from tests.streams.codegen.codegen_support import dashboards, files, model, panels

UIDS = {"kpi-wall", "kpi-support-ops", "kpi-pipeline"}
PANEL_TYPES = {"stat", "timeseries", "table", "row"}
GRAFANA_BUILTINS = {"__interval", "__rate_interval", "__range", "__all"}
DASHBOARDS = dashboards()


def _datasource_file() -> dict[str, Any]:
    return yaml.safe_load(files()[writer.DATASOURCES_DIR / DATASOURCE_FILE])


def _provider_file() -> dict[str, Any]:
    return yaml.safe_load(files()[writer.DASHBOARD_PROVIDERS_DIR / PROVIDER_FILE])


def test_three_dashboards_with_stable_uids() -> None:
    assert set(DASHBOARDS) == UIDS  # file name = uid
    assert {d["uid"] for d in DASHBOARDS.values()} == UIDS
    g = model().grafana
    assert (g.wall.uid, g.support_ops.uid, g.pipeline.uid) == ("kpi-wall", "kpi-support-ops", "kpi-pipeline")


@pytest.mark.parametrize("uid", sorted(UIDS))
def test_dashboard_round_trips_through_the_sdk_model(uid: str) -> None:
    """Decoding into grafana-foundation-sdk's typed model and encoding again changes nothing."""
    data = DASHBOARDS[uid]
    again = json.loads(json.dumps(Dashboard.from_json(data), cls=JSONEncoder))
    assert again == data


@pytest.mark.parametrize("uid", sorted(UIDS))
def test_dashboard_model(uid: str) -> None:
    d = DASHBOARDS[uid]
    assert d["schemaVersion"] == 41  # Grafana 11.6
    assert d["title"] and d["refresh"] == "30s" and d["time"]["to"] == "now"
    assert d["editable"] is False  # provisioned from files
    assert "kpi-monitor" in d["tags"]
    ids = [p["id"] for p in panels(d)]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    assert all(isinstance(i, int) and i > 0 for i in ids)
    occupied: set[tuple[int, int]] = set()
    for p in panels(d):
        assert p["type"] in PANEL_TYPES
        grid = p["gridPos"]
        assert {"h", "w", "x", "y"} <= set(grid)
        assert grid["w"] > 0 and grid["h"] > 0 and grid["x"] >= 0 and grid["x"] + grid["w"] <= 24, p["title"]
        cells = {(x, y) for x in range(grid["x"], grid["x"] + grid["w"]) for y in range(grid["y"], grid["y"] + grid["h"])}
        assert not cells & occupied, f"{p['title']} overlaps another panel"
        occupied |= cells
        if p["type"] == "row":
            assert grid["w"] == 24 and grid["h"] == 1 and not p.get("collapsed")
            continue
        assert p["title"]
        assert p["datasource"] == {"type": "prometheus", "uid": "kpi-prometheus"}
        assert p["targets"], f"{p['title']} has no query"
        refs = [t["refId"] for t in p["targets"]]
        assert len(refs) == len(set(refs))
        for t in p["targets"]:
            assert t["expr"].strip()
            assert t["datasource"] == p["datasource"]
        steps = p["fieldConfig"]["defaults"].get("thresholds", {}).get("steps")
        if steps:
            assert steps[0]["value"] is None, "the base threshold step has no value"
            values = [s["value"] for s in steps[1:]]
            assert values == sorted(values)


def test_datasource_uid_matches_the_provisioned_datasource() -> None:
    [ds] = _datasource_file()["datasources"]
    assert ds["uid"] == model().grafana.datasource_uid == "kpi-prometheus"
    assert ds["type"] == "prometheus" and ds["access"] == "proxy"
    assert ds["url"] == "${KPI_PROMETHEUS_URL}"
    assert ds["isDefault"] is False
    used = {p["datasource"]["uid"] for d in DASHBOARDS.values() for p in panels(d) if p["type"] != "row"}
    used |= {v["datasource"]["uid"] for d in DASHBOARDS.values() for v in d.get("templating", {}).get("list", []) if "datasource" in v}
    assert used == {ds["uid"]}


def test_dashboard_provider_points_where_compose_mounts_the_dashboards() -> None:
    [provider] = _provider_file()["providers"]
    assert provider["type"] == "file"
    assert provider["disableDeletion"] is True and provider["allowUiUpdates"] is False
    path = provider["options"]["path"]
    compose = yaml.safe_load((writer.REPO_ROOT / "deploy" / "docker-compose.yml").read_text())
    grafana = compose["services"]["grafana"]
    mounts = dict(v.rsplit(":", 2)[:2] for v in grafana["volumes"])
    assert mounts["../grafana/dashboards"] == path
    assert mounts["../grafana/provisioning"] == "/etc/grafana/provisioning"
    assert grafana["environment"]["KPI_PROMETHEUS_URL"] == "http://prometheus:9090"


def _variables(d: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {v["name"]: v for v in d.get("templating", {}).get("list", [])}


@pytest.mark.parametrize("uid", sorted(UIDS))
def test_every_variable_used_is_defined(uid: str) -> None:
    d = DASHBOARDS[uid]
    defined = set(_variables(d)) | GRAFANA_BUILTINS
    for p in panels(d):
        texts = [t["expr"] for t in p.get("targets", [])] + [p["title"]]
        for text in texts:
            used = set(re.findall(r"\$\{?(\w+)", text))
            assert used <= defined, f"{p['title']}: undefined variables {used - defined}"


def test_wall_is_big_stats_for_kiosk_mode() -> None:
    wall = DASHBOARDS["kpi-wall"]
    assert "?kiosk" in wall["description"]
    assert _variables(wall) == {}, "a wall screen has nobody to pick variables"
    stats = list(panels(wall))
    assert {p["type"] for p in stats} == {"stat"}
    assert len(stats) >= 8
    for p in stats:
        assert p["gridPos"]["w"] >= 6 and p["gridPos"]["h"] >= 6, f"{p['title']} is too small for a TV"
        assert p["options"]["colorMode"] == "background"
        assert p["options"]["graphMode"] == "none"
    exprs = {p["title"]: p["targets"][0]["expr"] for p in stats}
    assert exprs["Data age"].startswith(f"time() - max({c.WATERMARK})"), "the wall shows how fresh its data is"
    assert exprs["Workers up"].startswith('sum(up{job="kpi-monitor"})'), "the wall shows whether any worker runs"
    assert [p["title"] for p in stats][:2] == ["Workers up", "Data age"], "pipeline state first, top left"


def test_wall_tiles_without_data_are_red_not_grey() -> None:
    """Grafana shows a query without series as null and maps it before the thresholds
    (displayProcessor): every wall tile maps null and NaN to a red NO DATA."""
    for p in panels(DASHBOARDS["kpi-wall"]):
        defaults = p["fieldConfig"]["defaults"]
        assert defaults["noValue"] == "NO DATA", p["title"]
        assert defaults["mappings"] == [
            {"type": "special", "options": {"match": "null+nan", "result": {"text": "NO DATA", "color": "red", "index": 0}}}
        ], p["title"]


def test_wall_names_trailing_windows_as_such() -> None:
    titles = [p["title"] for p in panels(DASHBOARDS["kpi-wall"])]
    assert "Tickets created (trailing 24h)" in titles
    assert not [t for t in titles if "today" in t.lower()], "a trailing 24h is not today"


def test_wall_colours_come_from_the_spec() -> None:
    by_title = {p["title"]: p for p in panels(DASHBOARDS["kpi-wall"])}
    nps = model().kpi("nps")
    steps = by_title[f"NPS ({nps.window})"]["fieldConfig"]["defaults"]["thresholds"]["steps"]
    assert [(s["value"], s["color"]) for s in steps] == [(None, "red"), (nps.limit, "#EAB839"), (nps.warn, "green")]
    frt = model().kpi("first_response_time_p90_seconds")
    steps = by_title[f"{frt.title} ({frt.window})"]["fieldConfig"]["defaults"]["thresholds"]["steps"]
    assert [(s["value"], s["color"]) for s in steps] == [(None, "green"), (frt.warn, "#EAB839"), (frt.limit, "red")]
    attainment = next(p for t, p in by_title.items() if t.startswith("SLA attainment"))
    assert attainment["fieldConfig"]["defaults"]["thresholds"]["steps"][1]["value"] == model().sla.slo.objective


def test_overall_kpi_queries_exclude_breakdowns() -> None:
    for d in DASHBOARDS.values():
        for p in panels(d):
            for t in p.get("targets", []):
                for m in re.finditer(r"(cxkpi_\w+)\{([^}]*)\}", t["expr"]):
                    name, matchers = m.groups()
                    if name in {k.name for k in c.KPI_METRICS.values()}:
                        assert "window=" in matchers, f"{p['title']}: {name} needs a window"
                        for label in ("team", "channel", "priority"):
                            assert f"{label}=" in matchers or f"{label}!=" in matchers, f"{p['title']}: {name} must pin {label}"


def test_support_ops_breaks_down_by_team_channel_and_priority() -> None:
    ops = DASHBOARDS["kpi-support-ops"]
    variables = _variables(ops)
    assert set(variables) == {"team", "channel", "priority", "window"}
    for name in ("team", "channel", "priority"):
        assert variables[name]["multi"] is True and variables[name]["includeAll"] is True and variables[name]["allValue"] == ".*"
    assert variables["priority"]["query"] == "urgent,high,normal,low"
    assert variables["window"]["query"] == ",".join(model().windows)
    tables = {p["title"]: p for p in panels(ops) if p["type"] == "table"}
    exprs = " ".join(t["expr"] for p in tables.values() for t in p["targets"])
    assert c.SLA_AT_RISK in exprs and c.SLA_BREACHED in exprs
    assert all(t["format"] == "table" and t["instant"] for p in tables.values() for t in p["targets"])
    titles = " ".join(p["title"] for p in panels(ops))
    assert "p90" in titles and "percentiles" in titles


def test_pipeline_dashboard_covers_throughput_lag_rejects_and_evaluation() -> None:
    exprs = " ".join(t["expr"] for p in panels(DASHBOARDS["kpi-pipeline"]) for t in p.get("targets", []))
    for metric in (c.EVENTS, c.CONSUMER_LAG, c.LATE, c.REJECTED, c.DEAD_LETTERS, c.DEAD_LETTER_FAILURES, c.EVALUATION_SECONDS, c.WATERMARK):
        assert metric in exprs, metric
    assert f"rate({c.EVENTS}[1m])" in exprs
    assert "rebalance" not in exprs.lower(), "no rebalance metric exists yet; no panel may pretend otherwise"
