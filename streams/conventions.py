"""Every metric name, label and help text the worker exposes, in one place.

The KPI gauges are derived from the KPI catalog (`kpi.catalog`, where each KPI's metric
name and help text are declared); the rest are named here. Rules and dashboards are
generated from these names too, so a rename happens in one place.
Prometheus conventions: one prefix, base units, ratios 0-1 named `_ratio`, counters
ending `_total`, timestamps `_timestamp_seconds`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from kpi.catalog import CATALOG, Kpi

PREFIX = "cxkpi"


@dataclass(frozen=True)
class KpiMetric:
    """The gauge a KPI is exposed as."""

    name: str
    help: str
    scale: float = 1.0  # exposed value = KPI value * scale


def kpi_metrics(kpis: Iterable[Kpi]) -> dict[str, KpiMetric]:
    """KPI name (the replay contract) -> the windowed gauge it is exposed as, in catalog
    order: `cxkpi_` + the catalog's metric, its help text and scale (a percent x 0.01)."""
    return {k.name: KpiMetric(f"{PREFIX}_{k.metric}", k.help, k.scale) for k in kpis}


# Every KPI gauge carries a `window` label; the currency KPIs also a `currency` label.
KPI_METRICS: dict[str, KpiMetric] = kpi_metrics(CATALOG)
CURRENCY_KPIS = frozenset(k.name for k in CATALOG if k.unit == "currency")

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

# Scale-out and durable state (streams/worker/partials.py, streams/worker/checkpoints.py).
EXPORTER = f"{PREFIX}_exporter"
EXPORT_COMPLETE = f"{PREFIX}_export_complete"
EXPORT_WORKERS = f"{PREFIX}_export_workers"
EXPORTED_AT = f"{PREFIX}_export_evaluation_timestamp_seconds"
PARTITIONS_OWNED = f"{PREFIX}_partitions_owned"
CHECKPOINTS = f"{PREFIX}_checkpoints_total"
CHECKPOINT_BYTES = f"{PREFIX}_checkpoint_bytes"
PARTITION_RESTORES = f"{PREFIX}_partition_restores_total"
REREAD_SKIPPED = f"{PREFIX}_reread_records_skipped_total"
