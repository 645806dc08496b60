"""The wall dashboard: a TV in kiosk mode (`/d/<uid>?kiosk`), readable across a room.

Big single-value panels coloured by the spec's targets, overall only (no breakdowns,
no template variables), and how fresh the data is.
"""

from __future__ import annotations

from typing import Any

from streams import conventions as c
from streams.codegen.dashboards.common import attainment, generated_note, kpi, overall
from streams.codegen.dashboards.panels import AMBER, BLUE, GREEN, RED, Panels, dashboard, dashboard_links, kpi_thresholds
from streams.codegen.model import DASHBOARD_SLI_WINDOW, Model
from streams.codegen.promql import eq, number, sel

PANEL_WIDTH, PANEL_HEIGHT = 6, 7
_UNITS = {"none": "none", "percentunit": "percentunit", "s": "s"}


def build(model: Model) -> dict[str, Any]:
    p = Panels(model)
    for name, fallback_window in (("nps", "24h"), ("csat", "24h"), ("fcr_ratio", "24h")):
        _kpi_stat(p, model, name, fallback_window)

    objective = model.sla.slo.objective
    p.stat(
        f"SLA attainment ({DASHBOARD_SLI_WINDOW.seconds / 3600:.0f}h)",
        attainment(DASHBOARD_SLI_WINDOW),
        unit="percentunit",
        decimals=1,
        thresholds=[(None, RED), (objective, GREEN)],
        description=f"Share of resolutions within their priority's target; the objective is {objective * 100:g}%.",
        w=PANEL_WIDTH, h=PANEL_HEIGHT,
    )
    p.stat(
        "Breached now",
        f"sum({c.SLA_BREACHED})",
        thresholds=[(None, GREEN), (1, RED)],
        description="Open tickets already past their resolution target.",
        w=PANEL_WIDTH, h=PANEL_HEIGHT,
    )
    horizon = model.sla.at_risk_horizon
    p.stat(
        f"Breach within {horizon}",
        f"sum({sel(c.SLA_AT_RISK, eq('within', horizon))})",
        thresholds=[(None, GREEN), (1, AMBER)],
        description=f"Open tickets that breach their target within {horizon} unless resolved.",
        w=PANEL_WIDTH, h=PANEL_HEIGHT,
    )
    p.stat("Open tickets", f"sum({c.SLA_OPEN})", thresholds=[(None, BLUE)], w=PANEL_WIDTH, h=PANEL_HEIGHT)
    _kpi_stat(p, model, "first_response_time_p90_seconds", "1h")
    _kpi_stat(p, model, "resolution_time_p90_seconds", "24h")
    p.stat(
        "Tickets today (24h)",
        overall(kpi("tickets_created"), "24h"),
        thresholds=[(None, BLUE)],
        w=PANEL_WIDTH, h=PANEL_HEIGHT,
    )
    nps = model.kpi("nps")
    p.stat(
        f"NPS responses ({nps.window if nps else '24h'})",
        overall(kpi("nps_responses"), nps.window if nps else "24h"),
        thresholds=[(None, RED), (nps.min_samples if nps else model.min_sample_size, GREEN)],
        description="The NPS sample: below the minimum (red) the NPS is shown but not alerted on.",
        w=PANEL_WIDTH, h=PANEL_HEIGHT,
    )
    stale = model.pipeline.stale_max_age.seconds
    p.stat(
        "Data age",
        f"time() - max({c.WATERMARK})",
        unit="s",
        decimals=0,
        thresholds=[(None, GREEN), (stale / 3, AMBER), (stale, RED)],
        description="Time since the newest event the workers accepted: how fresh every number here is.",
        w=PANEL_WIDTH, h=PANEL_HEIGHT,
    )
    return dashboard(
        model, model.grafana.wall, p, tags=["wall"], links=dashboard_links(model),
        description=f"Wall screen for kiosk mode: open /d/{model.grafana.wall.uid}?kiosk. " + generated_note(model),
    )


def _kpi_stat(p: Panels, model: Model, name: str, fallback_window: str) -> None:
    target = model.kpi(name)
    window = target.window if target else fallback_window
    title = target.title if target else name
    unit = _UNITS[target.unit] if target else "none"
    description = f"Overall, last {window}."
    if target:
        side = "at least" if target.direction == "min" else "at most"
        limit = f"{target.limit * 100:g}%" if target.unit == "percentunit" else number(target.limit) + ("s" if target.unit == "s" else "")
        description += f" Target: {side} {limit}; alerts need {target.min_samples} {target.sample_kpi.replace('_', ' ')}."
    p.stat(
        f"{title} ({window})",
        overall(kpi(name), window),
        unit=unit,
        decimals=0 if unit in ("none", "s") else 1,
        thresholds=kpi_thresholds(target) if target else [(None, BLUE)],
        description=description,
        w=PANEL_WIDTH, h=PANEL_HEIGHT,
    )
