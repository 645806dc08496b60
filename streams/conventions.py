"""Every metric name, label and help text the worker exposes, in one place.

Rules and dashboards are generated from these names too, so a rename happens here once.
Prometheus conventions: one prefix, base units, ratios 0-1 named `_ratio`, counters
ending `_total`, timestamps `_timestamp_seconds`.
"""

from __future__ import annotations

from dataclasses import dataclass

PREFIX = "cxkpi"


@dataclass(frozen=True)
class KpiMetric:
    name: str
    help: str
    scale: float = 1.0  # exposed value = KPI value * scale


def _m(name: str, help_: str, scale: float = 1.0) -> KpiMetric:
    return KpiMetric(f"{PREFIX}_{name}", help_, scale)


# KPI name (the replay contract) -> windowed gauge. All carry a `window` label.
KPI_METRICS: dict[str, KpiMetric] = {
    "nps": _m("nps_score", "Net Promoter Score (-100..100) over the trailing window"),
    "nps_responses": _m("nps_responses", "NPS survey responses in the trailing window"),
    "csat": _m("csat_ratio", "Share of CSAT responses scoring 4 or 5 (0-1)", 0.01),
    "csat_responses": _m("csat_responses", "CSAT survey responses in the trailing window"),
    "ces": _m("ces_score", "Mean Customer Effort Score (1-7)"),
    "ces_responses": _m("ces_responses", "CES survey responses in the trailing window"),
    "tickets_created": _m("tickets_created", "Tickets created in the trailing window"),
    "tickets_resolved": _m("tickets_resolved", "Ticket resolutions in the trailing window"),
    "resolution_time_mean_seconds": _m("resolution_time_mean_seconds", "Mean resolution time of resolutions in the window"),
    "resolution_time_p50_seconds": _m("resolution_time_p50_seconds", "Median resolution time (nearest rank, <=0.5% relative error)"),
    "resolution_time_p90_seconds": _m("resolution_time_p90_seconds", "90th percentile resolution time (nearest rank)"),
    "resolution_time_p95_seconds": _m("resolution_time_p95_seconds", "95th percentile resolution time (nearest rank)"),
    "first_response_time_mean_seconds": _m("first_response_time_mean_seconds", "Mean time to first agent reply"),
    "first_response_time_p50_seconds": _m("first_response_time_p50_seconds", "Median time to first agent reply"),
    "first_response_time_p90_seconds": _m("first_response_time_p90_seconds", "90th percentile time to first agent reply"),
    "first_response_time_p95_seconds": _m("first_response_time_p95_seconds", "95th percentile time to first agent reply"),
    "fcr_ratio": _m("fcr_ratio", "First-contact resolution: share of resolutions with <=1 agent reply and no reopen"),
    "sla_breach_ratio": _m("sla_breach_ratio", "Share of resolutions in the window that exceeded their priority's target"),
    "open_tickets": _m("window_open_tickets", "Open tickets at the end of the trailing window"),
    "sla_breached_open_tickets": _m("window_sla_breached_open_tickets", "Open tickets past their target at the window's end"),
    "checkouts": _m("checkouts", "Checkouts started in the trailing window"),
    "orders": _m("orders", "Orders placed in the trailing window"),
    "conversion_ratio": _m("conversion_ratio", "Orders / checkouts in the trailing window"),
    "revenue": _m("revenue", "Revenue in the reporting currency (label currency) over the window"),
    "aov": _m("aov", "Average order value in the reporting currency"),
    "clv": _m("clv", "Customer lifetime value: AOV x purchase frequency / churn ratio"),
    "churn_ratio": _m("churn_ratio", "Share of the customer base at the window's start that churned in it"),
    "retention_ratio": _m("retention_ratio", "1 - churn ratio"),
    "active_customers": _m("active_customers", "Distinct active customers in the trailing window"),
    "stickiness_ratio": _m("stickiness_ratio", "DAU / MAU at the latest closed bucket end"),
    "adoption_ratio": _m("adoption_ratio", "Distinct users of a feature / active customers"),
}
CURRENCY_KPIS = frozenset({"revenue", "aov", "clv"})

WINDOW_LABEL = "window"

# Live SLA state, per team and priority, evaluated on the wall clock.
SLA_OPEN = f"{PREFIX}_sla_open_tickets"
SLA_BREACHED = f"{PREFIX}_sla_breached_tickets"
SLA_AT_RISK = f"{PREFIX}_sla_at_risk_tickets"
SLA_TARGET = f"{PREFIX}_sla_target_seconds"
RESOLUTION_HISTOGRAM = f"{PREFIX}_ticket_resolution_seconds"

# Pipeline health.
EVENTS = f"{PREFIX}_events_total"
REJECTED = f"{PREFIX}_events_rejected_total"
LATE = f"{PREFIX}_late_events_total"
DUPLICATES = f"{PREFIX}_duplicate_events_total"
DEAD_LETTERS = f"{PREFIX}_dead_letters_total"
DEAD_LETTER_FAILURES = f"{PREFIX}_dead_letter_failures_total"
WATERMARK = f"{PREFIX}_watermark_timestamp_seconds"
EVALUATED_AT = f"{PREFIX}_evaluation_timestamp_seconds"
LAG_SECONDS = f"{PREFIX}_event_to_metric_lag_seconds"
LAST_EVENT_AT = f"{PREFIX}_last_event_processed_timestamp_seconds"
CONSUMER_LAG = f"{PREFIX}_consumer_lag_messages"
KAFKA_CONNECTED = f"{PREFIX}_kafka_connected"
TRACKED_TICKETS = f"{PREFIX}_tracked_tickets"
TRACKED_CUSTOMERS = f"{PREFIX}_tracked_customers"
LABEL_OVERFLOW = f"{PREFIX}_label_values_capped"
EVALUATION_SECONDS = f"{PREFIX}_evaluation_duration_seconds"

# Scale-out and durable state (streams/exporter.py, streams/checkpoints.py).
EXPORTER = f"{PREFIX}_exporter"
EXPORT_COMPLETE = f"{PREFIX}_export_complete"
EXPORT_WORKERS = f"{PREFIX}_export_workers"
EXPORTED_AT = f"{PREFIX}_export_evaluation_timestamp_seconds"
PARTITIONS_OWNED = f"{PREFIX}_partitions_owned"
CHECKPOINTS = f"{PREFIX}_checkpoints_total"
CHECKPOINT_BYTES = f"{PREFIX}_checkpoint_bytes"
PARTITION_RESTORES = f"{PREFIX}_partition_restores_total"
REREAD_SKIPPED = f"{PREFIX}_reread_records_skipped_total"
