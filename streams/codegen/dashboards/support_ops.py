"""The support-ops dashboard: SLA risk lists, percentiles and KPIs per team, channel and
priority (template variables), for the people who move tickets around."""

from __future__ import annotations

from typing import Any

from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.models import dashboard as dm

from streams import conventions as c
from streams.codegen import names as n
from streams.codegen.dashboards.common import generated_note, kpi, overall
from streams.codegen.dashboards.panels import AMBER, GREEN, RED, Panels, dashboard, dashboard_links, kpi_thresholds
from streams.codegen.model import Model
from streams.codegen.promql import eq, number, sel
from streams.codegen.recording_rules import PRIORITY, TEAM_PRIORITY

ALL = ".*"
TEAM, CHANNEL, PRIORITY_VAR, WINDOW = "$team", "$channel", "$priority", "$window"


def _var_matcher(label: str, var: str) -> str:
    return f'{label}=~"{var}"'


def _by(metric: str, label: str) -> str:
    """One breakdown's series of a windowed KPI gauge, filtered by the matching variable."""
    matchers = [eq(c.WINDOW_LABEL, WINDOW)]
    for other in ("team", "channel", "priority"):
        if other == label:
            matchers += [f'{other}!=""', _var_matcher(other, "$" + other)]
        else:
            matchers.append(f'{other}=""')
    return sel(metric, *matchers)


def variables(model: Model) -> list[Any]:
    """The dashboard's variables: team and channel (multi-select, values from the
    `tickets_created` gauge's labels), priority (the spec's SLA priorities) and the KPI window
    (the spec's windows; 1h selected when there is one)."""
    ds = dm.DataSourceRef(type_val="prometheus", uid=model.grafana.datasource_uid)
    created_24h = kpi("tickets_created")

    def query_var(name: str, label: str, title: str) -> Any:
        return (
            db.QueryVariable(name).label(title).datasource(ds)
            .query(f'label_values({created_24h}{{{label}!=""}}, {label})')
            .refresh(dm.VariableRefresh.ON_TIME_RANGE_CHANGED).sort(dm.VariableSort.ALPHABETICAL_ASC)
            .multi(True).include_all(True).all_value(ALL)
            .current(dm.VariableOption(selected=True, text="All", value="$__all"))
        )

    priorities = [p.name for p in model.sla.priorities]
    default_window = "1h" if "1h" in model.windows else model.windows[0]
    return [
        query_var("team", "team", "Team"),
        query_var("channel", "channel", "Channel"),
        db.CustomVariable("priority").label("Priority").values(",".join(priorities))
        .multi(True).include_all(True).all_value(ALL)
        .current(dm.VariableOption(selected=True, text="All", value="$__all")),
        db.CustomVariable("window").label("KPI window").values(",".join(model.windows))
        .current(dm.VariableOption(selected=True, text=default_window, value=default_window)),
    ]


def build(model: Model) -> dict[str, Any]:
    """The support-operations dashboard's JSON, in rows: SLA state now by team and priority
    (breached, at risk, open), SLA attainment, resolution and first-response times, customer
    satisfaction and first-contact resolution, volume; filtered by the `variables`."""
    p = Panels(model)
    team_prio = (_var_matcher("team", TEAM), _var_matcher("priority", PRIORITY_VAR))

    p.row("SLA now")
    p.table(
        "Breached tickets by team and priority",
        f"sum by (team, priority) ({sel(c.SLA_BREACHED, *team_prio)})",
        value_name="breached",
        description="Open tickets already past their resolution target, now.",
        w=8,
    )
    p.table(
        "At-risk tickets by team and priority",
        f"sum by (team, priority, within) ({sel(c.SLA_AT_RISK, *team_prio)})",
        value_name="breach within",
        description="Open tickets that breach their target within the horizon (`within`) unless resolved.",
        thresholds=[(None, GREEN), (1, AMBER)],
        w=8,
    )
    p.table(
        "Open tickets by team and priority",
        f"sum by (team, priority) ({sel(c.SLA_OPEN, *team_prio)})",
        value_name="open",
        thresholds=[(None, GREEN)],
        w=8,
    )

    sla = model.sla
    slo = sla.slo
    br_window = sla.breach_ratio.window
    p.row("SLA attainment")
    p.timeseries(
        f"SLA attainment by priority ({br_window.human()})",
        [(f"1 - {sel(n.sla_error_ratio(PRIORITY, br_window), _var_matcher('priority', PRIORITY_VAR))}", "{{priority}}")],
        unit="percentunit",
        thresholds=[(None, RED), (slo.objective, GREEN)],
        description=f"Share of resolutions within target; the objective is {slo.objective * 100:g}%.",
        min_value=0, max_value=1, w=8,
    )
    p.timeseries(
        f"Resolutions past target by team ({br_window.human()})",
        [(sel(n.sla_error_ratio(TEAM_PRIORITY, br_window), *team_prio), "{{team}} {{priority}}")],
        unit="percentunit",
        thresholds=[(None, GREEN), (sla.breach_ratio.max_ratio, RED)],
        description="The breach-ratio alert's input: share of each team's resolutions that took longer than the target.",
        min_value=0, max_value=1, w=8,
    )
    fastest = min(slo.burn_rates, key=lambda b: b.long)
    p.timeseries(
        f"Error-budget burn rate by priority ({fastest.long.human()})",
        [(f"{sel(n.sla_error_ratio(PRIORITY, fastest.long), _var_matcher('priority', PRIORITY_VAR))} / {number(slo.error_budget)}", "{{priority}}")],
        thresholds=[(None, GREEN), (fastest.factor, RED)],
        description=f"1 = spending the {slo.period.human()} error budget exactly at the allowed pace; "
        + ", ".join(f"{number(b.factor)}x over {b.long.human()} ({b.severity})" for b in slo.burn_rates) + " alert.",
        w=8,
    )

    p.row("Resolution and first-response times")
    for family, label in (("resolution_time", "Resolution time"), ("first_response_time", "First response time")):
        p.timeseries(
            f"{label} percentiles (overall, $window)",
            [(overall(kpi(f"{family}_{stat}_seconds"), WINDOW), stat) for stat in ("p50", "p90", "p95")],
            unit="s", w=8,
        )
        for dim in ("team", "priority"):
            name = f"{family}_p90_seconds"
            target = model.kpi(name)
            p.timeseries(
                f"{label} p90 by {dim} ($window)",
                [(_by(kpi(name), dim), "{{" + dim + "}}")],
                unit="s", thresholds=kpi_thresholds(target) if target else None, w=8,
            )
    p.timeseries(
        f"Resolution time p90 by priority, from the histogram ({br_window.human()})",
        [(
            f"histogram_quantile(0.9, sum by (le, priority) (rate({sel(n.RESOLUTIONS_BUCKET, *team_prio)}[{br_window}])))",
            "{{priority}}",
        )],
        unit="s",
        description="Bucketed estimate (buckets at round durations and every SLA target); the p90 panels above are exact.",
        w=12,
    )
    p.timeseries(
        "Resolution time p90 by channel ($window)",
        [(_by(kpi("resolution_time_p90_seconds"), "channel"), "{{channel}}")],
        unit="s", w=12,
    )

    p.row("Customer satisfaction and first-contact resolution")
    for name, dims in (("nps", ("team", "channel")), ("csat", ("team", "channel")), ("fcr_ratio", ("team", "priority"))):
        target = model.kpi(name)
        title = target.title if target else name
        unit = "percentunit" if name != "nps" else "none"
        for dim in dims:
            p.timeseries(
                f"{title} by {dim} ($window)",
                [(_by(kpi(name), dim), "{{" + dim + "}}")],
                unit=unit, thresholds=kpi_thresholds(target) if target else None, w=8,
            )
    p.timeseries(
        "Survey responses by team ($window)",
        [(_by(kpi("nps_responses"), "team"), "NPS {{team}}"), (_by(kpi("csat_responses"), "team"), "CSAT {{team}}")],
        description=f"Sample sizes: KPI alerts need at least {model.min_sample_size} responses in the window.",
        w=8,
    )

    p.row("Volume")
    p.timeseries("Tickets created by channel ($window)", [(_by(kpi("tickets_created"), "channel"), "{{channel}}")], w=8)
    p.timeseries("Tickets resolved by team ($window)", [(_by(kpi("tickets_resolved"), "team"), "{{team}}")], w=8)
    p.timeseries("Tickets created by priority ($window)", [(_by(kpi("tickets_created"), "priority"), "{{priority}}")], w=8)

    return dashboard(
        model, model.grafana.support_ops, p, tags=["support"], variables=variables(model), links=dashboard_links(model),
        description="SLA risk, percentiles and KPIs per team, channel and priority. " + generated_note(model),
    )
