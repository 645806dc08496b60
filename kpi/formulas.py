"""KPI formulas: a `WindowView` in, named KPI values out. The names are the contract."""

from __future__ import annotations

from typing import Iterator

from kpi.aggregates import OVERALL, GroupAgg, LabelKey
from kpi.series import WindowView

QUANTILES = (("p50", 0.50), ("p90", 0.90), ("p95", 0.95))

SURVEY_KPIS = ("nps", "nps_responses", "csat", "csat_responses", "ces", "ces_responses")
TICKET_KPIS = (
    "tickets_created", "tickets_resolved",
    "resolution_time_mean_seconds", "resolution_time_p50_seconds", "resolution_time_p90_seconds",
    "resolution_time_p95_seconds",
    "first_response_time_mean_seconds", "first_response_time_p50_seconds",
    "first_response_time_p90_seconds", "first_response_time_p95_seconds",
    "fcr_ratio", "sla_breach_ratio", "open_tickets", "sla_breached_open_tickets",
)
ORDER_KPIS = ("checkouts", "orders", "conversion_ratio", "revenue", "aov", "clv")
CUSTOMER_KPIS = ("churn_ratio", "retention_ratio", "active_customers", "stickiness_ratio")
FEATURE_KPIS = ("adoption_ratio",)
ALL_KPIS = SURVEY_KPIS + TICKET_KPIS + ORDER_KPIS + CUSTOMER_KPIS + FEATURE_KPIS

Row = tuple[str, dict[str, str], float | int | None]


def ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


def survey_values(g: GroupAgg) -> dict[str, float | int | None]:
    return {
        "nps": ratio(100 * (g.nps_promoters - g.nps_detractors), g.nps_n),
        "nps_responses": g.nps_n,
        "csat": ratio(100 * g.csat_satisfied, g.csat_n),
        "csat_responses": g.csat_n,
        "ces": ratio(g.ces_sum, g.ces_n),
        "ces_responses": g.ces_n,
    }


def ticket_values(g: GroupAgg, open_tickets: int, breached_open: int) -> dict[str, float | int | None]:
    out: dict[str, float | int | None] = {
        "tickets_created": g.created,
        "tickets_resolved": g.resolved,
        "resolution_time_mean_seconds": ratio(g.resolution_sum_us / 1e6, g.resolved),
        "first_response_time_mean_seconds": ratio(g.first_response_sum_us / 1e6, g.first_response_n),
        "fcr_ratio": ratio(g.fcr, g.resolved),
        "sla_breach_ratio": ratio(g.breached, g.resolved),
        "open_tickets": open_tickets,
        "sla_breached_open_tickets": breached_open,
    }
    for name, q in QUANTILES:
        out[f"resolution_time_{name}_seconds"] = g.resolution.quantile(q) if g.resolution else None
        out[f"first_response_time_{name}_seconds"] = g.first_response.quantile(q) if g.first_response else None
    return out


def order_values(view: WindowView, churn_ratio: float | None) -> dict[str, float | int | None]:
    f = view.flows
    revenue = f.revenue_micros / 1_000_000  # int / int: no overflow for huge sums
    aov = ratio(revenue, f.orders)
    buyers = f.ordering_customers.count()
    frequency = ratio(f.orders, buyers)
    clv = aov * frequency / churn_ratio if aov is not None and frequency is not None and churn_ratio else None
    return {
        "checkouts": f.checkouts,
        "orders": f.orders,
        "conversion_ratio": ratio(f.orders, f.checkouts),
        "revenue": revenue,
        "aov": aov,
        "clv": clv,
    }


def churn_ratio(view: WindowView) -> float | None:
    return ratio(view.churned_from_base, view.base_customers)


def customer_values(view: WindowView) -> dict[str, float | int | None]:
    churn = churn_ratio(view)
    return {
        "churn_ratio": churn,
        "retention_ratio": None if churn is None else 1 - churn,
        "active_customers": view.flows.active.count(),
        "stickiness_ratio": view.stickiness,
    }


def _labels(key: LabelKey) -> dict[str, str]:
    return {key[0]: key[1]} if key else {}


def kpi_rows(view: WindowView) -> Iterator[Row]:
    """Every KPI of a window: overall rows (labels {}) first, then per label set."""
    flows = view.flows
    overall = flows.groups.get(OVERALL) or GroupAgg()
    yield from _rows({}, survey_values(overall))
    yield from _rows(
        {}, ticket_values(overall, view.open_tickets.get(OVERALL, 0), view.breached_open_tickets.get(OVERALL, 0))
    )
    churn = churn_ratio(view)
    yield from _rows({}, order_values(view, churn))
    yield from _rows({}, customer_values(view))
    active = flows.active.count()
    for feature in sorted(flows.features):
        yield ("adoption_ratio", {"feature": feature}, ratio(flows.features[feature].count(), active))
    keys = set(flows.groups) | set(view.open_tickets) | set(view.breached_open_tickets)
    keys.discard(OVERALL)
    for key in sorted(keys):
        g = flows.groups.get(key) or GroupAgg()
        labels = _labels(key)
        if g.nps_n or g.csat_n or g.ces_n:
            yield from _rows(labels, survey_values(g))
        if g.created or g.resolved or g.first_response_n or key in view.open_tickets or key in view.breached_open_tickets:
            yield from _rows(
                labels, ticket_values(g, view.open_tickets.get(key, 0), view.breached_open_tickets.get(key, 0))
            )


def _rows(labels: dict[str, str], values: dict[str, float | int | None]) -> Iterator[Row]:
    for name, value in values.items():
        yield (name, labels, value)
