"""Alert rules: SLA breaches and error-budget burn, KPI targets with sample-size guards,
and the health of the pipeline itself.

Every alert carries a `severity` label (page or ticket), a `summary` and a `description`
that show the value (`$value`, humanized in its unit), a `runbook_url` to its section of
docs/runbook.md and a `dashboard_url` to the Grafana dashboard that shows its data (both
absolute: Alertmanager, Slack and PagerDuty open them; docs/spec.md).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from streams import conventions as c
from streams.codegen import names as n
from streams.codegen.durations import Duration
from streams.codegen.model import Alerting, Dashboard, KpiTarget, Model
from streams.codegen.promql import breakdown, eq, number, one_of, sel
from streams.codegen.recording_rules import PRIORITY, TEAM_PRIORITY

Rule = dict[str, Any]


def alert_rule_files(model: Model) -> dict[str, list[dict[str, Any]]]:
    """Rule file name -> its groups."""
    files = {
        n.SLA_ALERTS_FILE: [{"name": n.group("sla-alerts"), "rules": list(sla_alerts(model))}],
        n.PIPELINE_ALERTS_FILE: [{"name": n.group("pipeline-alerts"), "rules": list(pipeline_alerts(model))}],
    }
    kpi_rules = [kpi_alert(model, k) for k in model.kpis if k.alert]
    if kpi_rules:
        files[n.KPI_ALERTS_FILE] = [{"name": n.group("kpi-alerts"), "rules": kpi_rules}]
    return dict(sorted(files.items()))


def _alert(model: Model, name: str, expr: str, alerting: Alerting, summary: str, description: str, dashboard: str,
           **labels: str) -> Rule:
    rule: Rule = {"alert": name, "expr": expr}
    if alerting.for_.milliseconds:
        rule["for"] = str(alerting.for_)
    rule["labels"] = {"severity": alerting.severity, **labels}
    rule["annotations"] = {
        "summary": summary, "description": description, "runbook_url": model.runbook(name), "dashboard_url": dashboard,
    }
    return rule


def _label(name: str) -> str:
    """An alert label's value, escaped for a URL query (team names may hold spaces or '&')."""
    return f"{{{{ $labels.{name} | urlquery }}}}"


def _ops(model: Model, *labels: str, window: str | None = None) -> str:
    """The support-ops dashboard, filtered to the alert's team / priority (and KPI window)."""
    variables = {label: _label(label) for label in labels}
    if window is not None:
        variables["window"] = window
    return model.dashboard_url(model.grafana.support_ops, **variables)


def _pipeline(model: Model) -> str:
    return model.dashboard_url(model.grafana.pipeline)


def _percent(x: float) -> str:
    return f"{x * 100:g}%"


# -- SLA ---------------------------------------------------------------------------------


def sla_alerts(model: Model) -> Iterator[Rule]:
    sla = model.sla
    for severity in ("page", "ticket"):
        group = [p for p in sla.priorities if p.severity == severity]
        if not group:
            continue
        targets = ", ".join(f"{p.name} {p.target.human()}" for p in group)
        yield _alert(
            model,
            n.SLA_BREACHED_TICKETS,
            f"sum by (team, priority) ({sel(c.SLA_BREACHED, one_of('priority', [p.name for p in group]))}) > 0",
            Alerting(sla.breached_for, severity),
            "{{ $value | humanize }} open {{ $labels.priority }} ticket(s) of team {{ $labels.team }} are past their "
            "resolution target",
            "{{ $value | humanize }} open {{ $labels.priority }} ticket(s) of team {{ $labels.team }} are already past the "
            f"resolution target ({targets}); they breach the SLA whatever happens next.",
            _ops(model, "team", "priority"),
        )

    br = sla.breach_ratio
    ratio = n.sla_error_ratio(TEAM_PRIORITY, br.window)
    per_second = n.resolutions_rate(TEAM_PRIORITY, br.window)
    yield _alert(
        model,
        n.SLA_BREACH_RATIO,
        f"{ratio} > {number(br.max_ratio)}\nand\n{per_second} * {number(br.window.seconds)} >= {br.min_resolutions}\n",
        br.alerting,
        "Team {{ $labels.team }} resolves {{ $value | humanizePercentage }} of its {{ $labels.priority }} tickets "
        "past the target",
        f"{{{{ $value | humanizePercentage }}}} of the {{{{ $labels.priority }}}} resolutions of team {{{{ $labels.team }}}} "
        f"over the last {br.window.human()} took longer than the target (alert above {_percent(br.max_ratio)}, "
        f"on at least {br.min_resolutions} resolutions).",
        _ops(model, "team", "priority"),
    )

    slo = sla.slo
    budget = number(slo.error_budget)
    for burn in slo.burn_rates:
        threshold = f"({number(burn.factor)} * {budget})"
        long_ratio = n.sla_error_ratio(PRIORITY, burn.long)
        short_ratio = n.sla_error_ratio(PRIORITY, burn.short)
        yield _alert(
            model,
            n.SLA_BUDGET_BURN,
            f"{long_ratio} > {threshold}\nand\n{short_ratio} > {threshold}\n",
            Alerting(burn.for_, burn.severity),
            "{{ $labels.priority }} tickets burn the SLA error budget at "
            f"{number(burn.factor)}x the sustainable rate or more ({{{{ $value | humanizePercentage }}}} past target)",
            f"{{{{ $value | humanizePercentage }}}} of {{{{ $labels.priority }}}} resolutions over the last {burn.long.human()} "
            f"(and over {burn.short.human()}) breached their target; the objective is {_percent(slo.objective)} within "
            f"target, so at this rate the {slo.period.human()} error budget of {_percent(slo.error_budget)} lasts "
            f"{_budget_left(slo.period, burn.factor)}.",
            _ops(model, "priority"),
            burn_window=f"{burn.long}/{burn.short}",
        )

    mismatch = "\nor\n".join(
        f"{sel(c.SLA_TARGET, eq('priority', p.name))} != {number(p.target.seconds)}" for p in sla.priorities
    )
    expected = ", ".join(f"{p.name} {p.target.human()}" for p in sla.priorities)
    yield _alert(
        model,
        n.SLA_TARGET_MISMATCH,
        mismatch + "\n",
        sla.target_mismatch,
        "The worker's {{ $labels.priority }} SLA target ({{ $value | humanizeDuration }}) differs from the KPI spec",
        "The worker at {{ $labels.instance }} uses {{ $value | humanizeDuration }} as the {{ $labels.priority }} "
        f"resolution target; the spec ({model.source}) says {expected}. SLA breach-ratio and burn-rate "
        "alerts read the histogram bucket at the spec's target and are wrong until they agree.",
        _ops(model, "priority"),
    )


def _budget_left(period: Duration, factor: float) -> str:
    hours = period.seconds / factor / 3600
    return f"about {hours:.0f}h" if hours < 48 else f"about {hours / 24:.0f}d"


# -- KPI targets -------------------------------------------------------------------------


_VALUE_FORMAT = {
    "percentunit": "{{ $value | humanizePercentage }}",
    "s": "{{ $value | humanizeDuration }}",
    "none": '{{ printf "%.1f" $value }}',
}


def _format_threshold(k: KpiTarget) -> str:
    if k.unit == "percentunit":
        return _percent(k.limit)
    if k.unit == "s":
        return Duration(int(k.limit * 1000)).human()
    return f"{k.limit:g}"


def kpi_alert(model: Model, k: KpiTarget) -> Rule:
    matchers = (eq(c.WINDOW_LABEL, k.window), *breakdown(k.by))
    comparison = "<" if k.direction == "min" else ">"
    # KPI series come from whichever worker exports (docs/operations.md#running-several-workers);
    # dropping `instance` keeps an alert's identity, and its `for` clock, when that role moves.
    expr = (
        f"max without (instance) ({sel(k.metric, *matchers)}) {comparison} {number(k.limit)}\n"
        f"and\nmax without (instance) ({sel(k.sample_metric, *matchers)}) >= {k.min_samples}\n"
    )
    scope = "" if k.by == "overall" else f" of {k.by} {{{{ $labels.{k.by} }}}}"
    side = "below" if k.direction == "min" else "above"
    return _alert(
        model,
        k.alert_name,
        expr,
        k.alerting,
        f"{k.title}{scope} is {_VALUE_FORMAT[k.unit]}, {side} its target of {_format_threshold(k)}",
        f"{k.title}{scope} over the last {k.window} is {_VALUE_FORMAT[k.unit]}, {side} the target of "
        f"{_format_threshold(k)} (on at least {k.min_samples} {k.sample_kpi.replace('_', ' ')} in the window).",
        _ops(model, *([] if k.by == "overall" else [k.by]), window=k.window),
        kpi=k.kpi,
    )


# -- pipeline ----------------------------------------------------------------------------


def pipeline_alerts(model: Model) -> Iterator[Rule]:
    p = model.pipeline
    up = sel("up", eq("job", p.job))
    yield _alert(
        model, n.WORKER_DOWN, f"{up} == 0\nor\nabsent({up})\n", p.worker_down,
        "{{ if $labels.instance }}kpi-monitor worker {{ $labels.instance }} is down (up = {{ $value }})"
        f"{{{{ else }}}}No kpi-monitor worker is scraped (job {p.job} has no target){{{{ end }}}}",
        "{{ if $labels.instance }}Prometheus cannot scrape {{ $labels.instance }} (up = {{ $value }})"
        f"{{{{ else }}}}Prometheus has no target for job {p.job} (absent = {{{{ $value }}}}){{{{ end }}}}: "
        "KPI gauges stop updating and SLA alerts cannot fire.",
        _pipeline(model),
    )
    yield _alert(
        model, n.DATA_STALE, f"time() - {c.WATERMARK} > {number(p.stale_max_age.seconds)}", p.stale,
        "KPI data of {{ $labels.instance }} is stale: the newest event is {{ $value | humanizeDuration }} old",
        "The newest event the worker at {{ $labels.instance }} accepted is {{ $value | humanizeDuration }} old "
        f"(alert above {p.stale_max_age.human()}): producers stopped, or the worker stopped consuming.",
        _pipeline(model),
    )
    yield _alert(
        model, n.EVALUATION_STALLED, f"time() - {c.EVALUATED_AT} > {number(p.evaluation_max_age.seconds)}",
        p.evaluation_stalled,
        "The worker at {{ $labels.instance }} stopped computing KPIs {{ $value | humanizeDuration }} ago",
        "The KPI gauges of {{ $labels.instance }} were last computed {{ $value | humanizeDuration }} ago "
        f"(alert above {p.evaluation_max_age.human()}); every KPI and live SLA gauge it serves is frozen.",
        _pipeline(model),
    )
    exported = sel(c.EXPORTED_AT, eq("job", p.job))
    yield _alert(
        model, n.EXPORT_STALE,
        f'label_replace(time() - max without (instance) ({exported}) > {number(p.export_max_age.seconds)}, "reason", "stale", "", "")\n'
        f'or\nlabel_replace(absent({exported}), "reason", "absent", "", "")\n',
        p.export_stale,
        '{{ if eq $labels.reason "absent" }}No worker serves the KPI values{{ else }}The KPI values were last '
        "merged {{ $value | humanizeDuration }} ago{{ end }}",
        '{{ if eq $labels.reason "absent" }}No worker serves KPI values{{ else }}The KPI values on /metrics were '
        "merged {{ $value | humanizeDuration }} ago{{ end }} (alert above "
        f"{p.export_max_age.human()}): every KPI and SLA gauge is frozen or missing while the workers may look healthy.",
        _pipeline(model),
    )
    yield _alert(
        model, n.CONSUMER_LAG_GROWING,
        f"sum by (topic) ({c.CONSUMER_LAG}) > {p.lag_max_messages}\n"
        f"and\nsum by (topic) (delta({c.CONSUMER_LAG}[{p.lag_window}])) > 0\n",
        p.lag,
        "Consumer lag on {{ $labels.topic }} is {{ $value | humanize }} records and growing",
        "{{ $value }} records of topic {{ $labels.topic }} are not yet processed "
        f"(alert above {p.lag_max_messages}, and more than {p.lag_window.human()} ago): the workers fall behind "
        "and KPIs trail reality.",
        _pipeline(model),
    )
    window = p.rejected_window
    yield _alert(
        model, n.REJECTED_EVENTS_HIGH,
        f"sum(rate({c.REJECTED}[{window}])) / sum(rate({c.EVENTS}[{window}])) > {number(p.rejected_max_ratio)}\n"
        f"and\nsum(increase({c.EVENTS}[{window}])) >= {p.rejected_min_events}\n",
        p.rejected,
        "{{ $value | humanizePercentage }} of the consumed events are rejected and dead-lettered",
        f"{{{{ $value | humanizePercentage }}}} of the records consumed over the last {window.human()} were rejected "
        f"and sent to the dead-letter topic (alert above {_percent(p.rejected_max_ratio)}, on at least "
        f"{p.rejected_min_events} records). KPIs miss those events.",
        _pipeline(model),
    )
    yield _alert(
        model, n.DEAD_LETTER_FAILURES, f"increase({c.DEAD_LETTER_FAILURES}[{p.dead_letter_window}]) > 0",
        p.dead_letter_failures,
        "{{ $value | humanize }} dead-letter write(s) failed on {{ $labels.instance }}",
        f"{{{{ $value }}}} rejected record(s) could not be written to the dead-letter topic in the last "
        f"{p.dead_letter_window.human()}: they are lost for reprocessing.",
        _pipeline(model),
    )
    yield _alert(
        model, n.LABEL_VALUES_CAPPED, f"{c.LABEL_OVERFLOW} == 1", p.label_values_capped,
        "Label {{ $labels.label }} hit its value cap on {{ $labels.instance }}",
        "The {{ $labels.label }} label has more distinct values than the worker's cap (value {{ $value }}): "
        "new values are reported as `other`, so per-{{ $labels.label }} KPIs merge them.",
        _pipeline(model),
    )
