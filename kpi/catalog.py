"""The KPI catalog: every KPI declared once.

Each `Kpi` says what it is called in replay rows, its unit, the gauge the worker exposes
(name suffix and help text), which label sets it is broken down by, the range a spec's
threshold may take, how its value is computed from a window's aggregates, and its
one-line definition. Everything else derives from `CATALOG`: the rows of `kpi.formulas`
(`row_formulas`), the worker's metric names (`streams.conventions.kpi_metrics`), the spec
checks of `streams.codegen.model` (`kpi_kinds`), the KPI table of docs/kpis.md
(`markdown_table`) and the KPI gauges of docs/metrics.md.

A new KPI computed from aggregates the engine already keeps is one entry here (in the
place its row should appear), plus its tests, plus `make generate` (or
`python -m streams.codegen.kpi_docs`) to rewrite the docs tables
(tests/kpi/test_catalog.py adds such an entry and checks each derivation carries it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal, NamedTuple

from kpi.aggregates import GroupAgg
from kpi.series import WindowView
from kpi.sketches import DistinctCounter, QuantileSketch

Value = float | int | None
# survey: overall and per label the survey carries; ticket: overall and per ticket label;
# order and customer: overall only; feature: one row per feature, no overall row.
Family = Literal["survey", "ticket", "order", "customer", "feature"]
# The unit of the value in replay rows. A percent is exposed as a 0-1 ratio (Prometheus
# base units); every other unit is exposed as it is.
Unit = Literal["count", "score", "percent", "ratio", "seconds", "currency"]

# The label dimensions each family is broken down by (kpi.engine keys its aggregates so).
BREAKDOWNS: dict[Family, tuple[str, ...]] = {
    "survey": ("team", "channel"),
    "ticket": ("team", "channel", "priority"),
    "order": (),
    "customer": (),
    "feature": ("feature",),
}


class KpiInputs(NamedTuple):
    """What one row's value is computed from.

    `group`: the survey and ticket flows of the row's label set (overall: the OVERALL
    group). `open_tickets`, `breached_open_tickets`: those step functions of the label set
    at the window's end. `view`: the whole window. `active_customers`: the view's distinct
    active customers (counted once per view: past the exact limit a count costs a pass
    over the HyperLogLog registers). `feature_users`: a feature row's distinct users.
    """

    group: GroupAgg
    open_tickets: int
    breached_open_tickets: int
    view: WindowView
    active_customers: float
    feature_users: DistinctCounter | None = None


class Target(NamedTuple):
    """What a spec may compare a KPI with: the threshold's range, in the exposed metric's
    unit (csat: 0-1), and the KPI that counts its samples (the minimum-sample guard)."""

    sample_kpi: str
    low: float
    high: float | None


@dataclass(frozen=True)
class Kpi:
    """One KPI. `name`: the replay row name and the key everywhere else. `metric`: the
    exposed gauge's name after the `cxkpi_` prefix. `value`: KpiInputs -> the value (None
    where the denominator is zero). `target`: None when a spec may not set thresholds on it.
    `definition`: one line of Markdown for docs/kpis.md."""

    name: str
    family: Family
    unit: Unit
    metric: str
    help: str
    definition: str
    value: Callable[[KpiInputs], Value]
    target: Target | None = None

    @property
    def scale(self) -> float:
        """Exposed value = replay value x scale (a percent is exposed as a ratio)."""
        return 0.01 if self.unit == "percent" else 1.0

    @property
    def metric_unit(self) -> Unit:
        """The unit of the exposed gauge."""
        return "ratio" if self.unit == "percent" else self.unit

    @property
    def breakdowns(self) -> tuple[str, ...]:
        """The label dimensions this KPI is reported by, besides overall."""
        return BREAKDOWNS[self.family]


def ratio(numerator: float, denominator: float) -> float | None:
    """numerator / denominator, or None when the denominator is 0 (never NaN or inf)."""
    return numerator / denominator if denominator else None


def _quantile(sketch: QuantileSketch | None, q: float) -> float | None:
    return sketch.quantile(q) if sketch else None


def _revenue(v: WindowView) -> float:
    return v.flows.revenue_micros / 1_000_000  # int / int: no overflow for huge sums


def _aov(v: WindowView) -> float | None:
    return ratio(_revenue(v), v.flows.orders)


def _churn(v: WindowView) -> float | None:
    return ratio(v.churned_from_base, v.base_customers)


def _clv(v: WindowView) -> float | None:
    aov = _aov(v)
    frequency = ratio(v.flows.orders, v.flows.ordering_customers.count())
    churn = _churn(v)
    return aov * frequency / churn if aov is not None and frequency is not None and churn else None


def _retention(v: WindowView) -> float | None:
    churn = _churn(v)
    return None if churn is None else 1 - churn


def _adoption(x: KpiInputs) -> float | None:
    assert x.feature_users is not None
    return ratio(x.feature_users.count(), x.active_customers)


_SHARE_OF_RESOLUTIONS = Target("tickets_resolved", 0.0, 1.0)


def _time(sample: str) -> Target:
    return Target(sample, 0.0, None)


# First-response times are guarded by tickets created (first replies are not counted
# separately): an approximation, see docs/spec.md.
# The order of the entries is the order of the rows in every window (replay output).
CATALOG: tuple[Kpi, ...] = (
    # -- surveys ------------------------------------------------------------------------------
    Kpi("nps", "survey", "score", "nps_score", "Net Promoter Score (-100..100) over the trailing window",
        "100 x (responses scoring 9-10 - responses scoring 0-6) / responses (-100..100)",
        lambda x: ratio(100 * (x.group.nps_promoters - x.group.nps_detractors), x.group.nps_n),
        Target("nps_responses", -100.0, 100.0)),
    Kpi("nps_responses", "survey", "count", "nps_responses", "NPS survey responses in the trailing window",
        "NPS responses in the window (the sample size of `nps`)",
        lambda x: x.group.nps_n),
    Kpi("csat", "survey", "percent", "csat_ratio", "Share of CSAT responses scoring 4 or 5 (0-1)",
        "100 x responses scoring 4-5 / responses (exposed as a 0-1 ratio)",
        lambda x: ratio(100 * x.group.csat_satisfied, x.group.csat_n),
        Target("csat_responses", 0.0, 1.0)),
    Kpi("csat_responses", "survey", "count", "csat_responses", "CSAT survey responses in the trailing window",
        "CSAT responses in the window",
        lambda x: x.group.csat_n),
    Kpi("ces", "survey", "score", "ces_score", "Mean Customer Effort Score (1-7)",
        "mean CES score (1-7)",
        lambda x: ratio(x.group.ces_sum, x.group.ces_n),
        Target("ces_responses", 1.0, 7.0)),
    Kpi("ces_responses", "survey", "count", "ces_responses", "CES survey responses in the trailing window",
        "CES responses in the window",
        lambda x: x.group.ces_n),
    # -- tickets ------------------------------------------------------------------------------
    Kpi("tickets_created", "ticket", "count", "tickets_created", "Tickets created in the trailing window",
        "`ticket.created` events in the window",
        lambda x: x.group.created),
    Kpi("tickets_resolved", "ticket", "count", "tickets_resolved", "Ticket resolutions in the trailing window",
        "`ticket.resolved` events in the window (a re-resolution after a reopen counts again)",
        lambda x: x.group.resolved),
    Kpi("resolution_time_mean_seconds", "ticket", "seconds", "resolution_time_mean_seconds",
        "Mean resolution time of resolutions in the window",
        "mean of ts(resolved) - ts(created) over the resolutions in the window",
        lambda x: ratio(x.group.resolution_sum_us / 1e6, x.group.resolved),
        _time("tickets_resolved")),
    Kpi("first_response_time_mean_seconds", "ticket", "seconds", "first_response_time_mean_seconds",
        "Mean time to first agent reply",
        "mean of ts(first agent reply) - ts(created) over the first replies in the window",
        lambda x: ratio(x.group.first_response_sum_us / 1e6, x.group.first_response_n),
        _time("tickets_created")),
    Kpi("fcr_ratio", "ticket", "ratio", "fcr_ratio",
        "First-contact resolution: share of resolutions with <=1 agent reply and no reopen",
        "share of resolutions whose ticket had at most one agent reply and no reopen",
        lambda x: ratio(x.group.fcr, x.group.resolved),
        _SHARE_OF_RESOLUTIONS),
    Kpi("sla_breach_ratio", "ticket", "ratio", "sla_breach_ratio",
        "Share of resolutions in the window that exceeded their priority's target",
        "share of resolutions whose resolution time is strictly above their priority's SLA target",
        lambda x: ratio(x.group.breached, x.group.resolved),
        _SHARE_OF_RESOLUTIONS),
    Kpi("open_tickets", "ticket", "count", "window_open_tickets", "Open tickets at the end of the trailing window",
        "tickets open at the window's end (created or reopened, not resolved since)",
        lambda x: x.open_tickets),
    Kpi("sla_breached_open_tickets", "ticket", "count", "window_sla_breached_open_tickets",
        "Open tickets past their target at the window's end",
        "open tickets at the window's end whose age is above their priority's SLA target",
        lambda x: x.breached_open_tickets),
    Kpi("resolution_time_p50_seconds", "ticket", "seconds", "resolution_time_p50_seconds",
        "Median resolution time (nearest rank, <=0.5% relative error)",
        "median resolution time (nearest rank)",
        lambda x: _quantile(x.group.resolution, 0.50),
        _time("tickets_resolved")),
    Kpi("first_response_time_p50_seconds", "ticket", "seconds", "first_response_time_p50_seconds",
        "Median time to first agent reply",
        "median first response time (nearest rank)",
        lambda x: _quantile(x.group.first_response, 0.50),
        _time("tickets_created")),
    Kpi("resolution_time_p90_seconds", "ticket", "seconds", "resolution_time_p90_seconds",
        "90th percentile resolution time (nearest rank)",
        "90th percentile resolution time (nearest rank)",
        lambda x: _quantile(x.group.resolution, 0.90),
        _time("tickets_resolved")),
    Kpi("first_response_time_p90_seconds", "ticket", "seconds", "first_response_time_p90_seconds",
        "90th percentile time to first agent reply",
        "90th percentile first response time (nearest rank)",
        lambda x: _quantile(x.group.first_response, 0.90),
        _time("tickets_created")),
    Kpi("resolution_time_p95_seconds", "ticket", "seconds", "resolution_time_p95_seconds",
        "95th percentile resolution time (nearest rank)",
        "95th percentile resolution time (nearest rank)",
        lambda x: _quantile(x.group.resolution, 0.95),
        _time("tickets_resolved")),
    Kpi("first_response_time_p95_seconds", "ticket", "seconds", "first_response_time_p95_seconds",
        "95th percentile time to first agent reply",
        "95th percentile first response time (nearest rank)",
        lambda x: _quantile(x.group.first_response, 0.95),
        _time("tickets_created")),
    # -- orders -------------------------------------------------------------------------------
    Kpi("checkouts", "order", "count", "checkouts", "Checkouts started in the trailing window",
        "`checkout.started` events in the window",
        lambda x: x.view.flows.checkouts),
    Kpi("orders", "order", "count", "orders", "Orders placed in the trailing window",
        "`order.placed` events in the window",
        lambda x: x.view.flows.orders),
    Kpi("conversion_ratio", "order", "ratio", "conversion_ratio", "Orders / checkouts in the trailing window",
        "orders / checkouts",
        lambda x: ratio(x.view.flows.orders, x.view.flows.checkouts)),
    Kpi("revenue", "order", "currency", "revenue", "Revenue in the reporting currency (label currency) over the window",
        "sum of order amounts, converted to the reporting currency",
        lambda x: _revenue(x.view)),
    Kpi("aov", "order", "currency", "aov", "Average order value in the reporting currency",
        "revenue / orders",
        lambda x: _aov(x.view)),
    Kpi("clv", "order", "currency", "clv", "Customer lifetime value: AOV x purchase frequency / churn ratio",
        "aov x (orders / distinct ordering customers) / churn_ratio; null when churn_ratio is 0 or undefined",
        lambda x: _clv(x.view)),
    # -- customers ----------------------------------------------------------------------------
    Kpi("churn_ratio", "customer", "ratio", "churn_ratio", "Share of the customer base at the window's start that churned in it",
        "customers of the base who churned in the window / the base (signed up before the window's start, "
        "not churned before it)",
        lambda x: _churn(x.view)),
    Kpi("retention_ratio", "customer", "ratio", "retention_ratio", "1 - churn ratio",
        "1 - churn_ratio",
        lambda x: _retention(x.view)),
    Kpi("active_customers", "customer", "count", "active_customers", "Distinct active customers in the trailing window",
        "distinct customers with `customer.active` or `feature.used` in the window",
        lambda x: x.active_customers),
    Kpi("stickiness_ratio", "customer", "ratio", "stickiness_ratio", "DAU / MAU at the latest closed bucket end",
        "distinct active customers in [end - 1 day, end) / distinct active in [end - 30 days, end)",
        lambda x: x.view.stickiness),
    # -- features -----------------------------------------------------------------------------
    Kpi("adoption_ratio", "feature", "ratio", "adoption_ratio", "Distinct users of a feature / active customers",
        "distinct users of the feature / active_customers",
        _adoption),
)

BY_NAME: dict[str, Kpi] = {k.name: k for k in CATALOG}


def of_family(family: Family) -> tuple[Kpi, ...]:
    """The family's KPIs in catalog (row) order."""
    return tuple(k for k in CATALOG if k.family == family)


def names(kpis: Iterable[Kpi]) -> tuple[str, ...]:
    """The names of `kpis`, in order."""
    return tuple(k.name for k in kpis)


def markdown_table() -> str:
    """The KPI table of docs/kpis.md (between its generated-section markers)."""
    lines = [
        "| KPI | unit | metric (`cxkpi_` ...) | by | spec target: range, guard | definition |",
        "|---|---|---|---|---|---|",
    ]
    for k in CATALOG:
        unit = "percent (exposed 0-1)" if k.unit == "percent" else k.unit
        by = "feature" if k.family == "feature" else ", ".join(("overall", *k.breakdowns))
        target = "-"
        if k.target is not None:
            high = "" if k.target.high is None else f"{k.target.high:g}"
            target = f"{k.target.low:g}..{high}, `{k.target.sample_kpi}`"
        lines.append(f"| `{k.name}` | {unit} | `{k.metric}` | {by} | {target} | {k.definition} |")
    return "\n".join(lines) + "\n"
