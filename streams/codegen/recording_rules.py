"""Recording rules: the SLA indicator (resolutions within target) over every window the
alerts and dashboards need, from the resolution-time histogram's counters.

Each priority's "good" resolutions are its histogram bucket at its target, e.g.
`le="14400.0"` for a 4h target; client_python writes buckets that way and Prometheus
2.x keeps the text, so the rules match it exactly.
"""

from __future__ import annotations

from typing import Any

from streams.codegen import names as n
from streams.codegen.durations import Duration
from streams.codegen.model import Model
from streams.codegen.promql import eq, sel

PRIORITY = "priority"
TEAM_PRIORITY = "team_priority"
_BY = {PRIORITY: "priority", TEAM_PRIORITY: "team, priority"}


def recording_rule_groups(model: Model) -> list[dict[str, Any]]:
    """The one group of SLA recording rules: the indicator per priority over every window the
    alerts and dashboards read (`model.sla.rate_windows()`), and per team and priority over the
    breach-ratio alert's window."""
    rules: list[dict[str, Any]] = []
    for window in model.sla.rate_windows():
        rules.extend(sli_rules(model, PRIORITY, window))
    rules.extend(sli_rules(model, TEAM_PRIORITY, model.sla.breach_ratio.window))
    return [{"name": n.group("sla-sli"), "rules": rules}]


def sli_rules(model: Model, level: str, window: Duration) -> list[dict[str, Any]]:
    """The three rules of one level (`PRIORITY` or `TEAM_PRIORITY`) and `window`: resolutions per
    second, resolutions within their priority's target per second (each priority's histogram
    bucket at its target, e.g. `le="14400.0"`), and the error ratio 1 - within / all (the SLO's
    error ratio, which the burn-rate alerts read)."""
    by = _BY[level]
    total = n.resolutions_rate(level, window)
    within = n.resolutions_within_sla_rate(level, window)
    good = "\nor\n".join(
        f"sum by ({by}) (rate({sel(n.RESOLUTIONS_BUCKET, eq('priority', p.name), eq('le', p.le))}[{window}]))"
        for p in model.sla.priorities
    )
    return [
        {"record": total, "expr": f"sum by ({by}) (rate({n.RESOLUTIONS_COUNT}[{window}]))"},
        {"record": within, "expr": good + "\n"},
        {"record": n.sla_error_ratio(level, window), "expr": f"1 - ({within} / {total})"},
    ]
