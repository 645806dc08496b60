"""Names of everything the generators create: rule groups, recorded series, alerts, files.

Raw metric names come from `streams.conventions`; recorded series follow Prometheus'
`level:metric:operations` convention.
"""

from __future__ import annotations

from streams import conventions as c
from streams.codegen.durations import Duration

RULE_GROUP_PREFIX = "kpi-monitor"

# Rule files under deploy/prometheus/rules/.
SLA_RECORDING_FILE = "sla-recording.yml"
SLA_ALERTS_FILE = "sla-alerts.yml"
KPI_ALERTS_FILE = "kpi-alerts.yml"
PIPELINE_ALERTS_FILE = "pipeline-alerts.yml"

RESOLUTIONS_COUNT = f"{c.RESOLUTION_HISTOGRAM}_count"
RESOLUTIONS_BUCKET = f"{c.RESOLUTION_HISTOGRAM}_bucket"

# Alert names (one runbook section each, docs/runbook.md).
SLA_BREACHED_TICKETS = "KpiSlaBreachedTickets"
SLA_BREACH_RATIO = "KpiSlaResolutionBreachRatioHigh"
SLA_BUDGET_BURN = "KpiSlaErrorBudgetBurn"
SLA_TARGET_MISMATCH = "KpiSlaTargetMismatch"
WORKER_DOWN = "KpiWorkerDown"
DATA_STALE = "KpiDataStale"
EVALUATION_STALLED = "KpiEvaluationStalled"
EXPORT_STALE = "KpiExportStale"
CONSUMER_LAG_GROWING = "KpiConsumerLagGrowing"
REJECTED_EVENTS_HIGH = "KpiRejectedEventsHigh"
DEAD_LETTER_FAILURES = "KpiDeadLetterWritesFailing"
LABEL_VALUES_CAPPED = "KpiLabelValuesCapped"


def group(name: str) -> str:
    """The rule group name of `name`, under the project's prefix ("sla-sli" ->
    "kpi-monitor.sla-sli"), so Prometheus' rule list shows whose groups they are."""
    return f"{RULE_GROUP_PREFIX}.{name}"


def resolutions_rate(level: str, window: Duration) -> str:
    """Resolutions per second over `window`, summed to `level` (priority, team_priority)."""
    return f"{level}:{c.RESOLUTION_HISTOGRAM.removesuffix('_seconds')}s:rate{window}"


def resolutions_within_sla_rate(level: str, window: Duration) -> str:
    """Resolutions within their priority's target, per second over `window`."""
    return f"{level}:{c.RESOLUTION_HISTOGRAM.removesuffix('_seconds')}s_within_sla:rate{window}"


def sla_error_ratio(level: str, window: Duration) -> str:
    """Share of resolutions over `window` that breached their target (the SLO's error ratio)."""
    return f"{level}:{c.PREFIX}_sla_errors:ratio_rate{window}"
