"""The pipeline-health dashboard: are the workers up, keeping up, rejecting what, and is the
group's merged KPI export current?"""

from __future__ import annotations

from typing import Any

from streams import conventions as c
from streams.codegen.dashboards.common import generated_note
from streams.codegen.dashboards.panels import AMBER, BLUE, GREEN, RED, Panels, dashboard, dashboard_links
from streams.codegen.model import Model
from streams.codegen.promql import eq, sel


def build(model: Model) -> dict[str, Any]:
    """The pipeline-health dashboard's JSON, in rows: now (workers up, data age, evaluation age,
    event-to-metric and consumer lag, dead-letter failures), throughput and lag, late, rejected
    and dead-lettered events, scale-out and durable state, evaluation and state. Its thresholds
    are the spec's `pipeline:` limits (the numbers the pipeline alerts use)."""
    pl = model.pipeline
    p = Panels(model)
    stale = pl.stale_max_age.seconds

    p.row("Now")
    p.stat("Workers up", f"sum({sel('up', eq('job', pl.job))})", thresholds=[(None, RED), (1, GREEN)], w=4, h=5,
           description=f"Targets of job {pl.job} that Prometheus scrapes successfully.")
    p.stat("Data age", f"time() - max({c.WATERMARK})", unit="s", decimals=0,
           thresholds=[(None, GREEN), (stale / 3, AMBER), (stale, RED)], w=4, h=5,
           description="Time since the newest accepted event (the watermark).")
    p.stat("Since last evaluation", f"time() - max({c.EVALUATED_AT})", unit="s", decimals=0,
           thresholds=[(None, GREEN), (pl.evaluation_max_age.seconds, RED)], w=4, h=5,
           description="KPI gauges are recomputed every evaluation interval; a growing value means they are frozen.")
    p.stat("Event-to-metric lag", f"max({c.LAG_SECONDS})", unit="s", decimals=1, thresholds=[(None, BLUE)], w=4, h=5,
           description="Evaluation time minus the watermark: how old the newest data in the gauges is.")
    p.stat("Consumer lag", f"sum({c.CONSUMER_LAG})", thresholds=[(None, GREEN), (pl.lag_max_messages, RED)], w=4, h=5,
           description="Records not yet processed, all topics and partitions.")
    p.stat(f"Dead-letter failures ({pl.dead_letter_window.human()})",
           f"sum(increase({c.DEAD_LETTER_FAILURES}[{pl.dead_letter_window}]))", decimals=0,
           thresholds=[(None, GREEN), (1, RED)], w=4, h=5,
           description="Rejected records that could not be written to the dead-letter topic (lost).")

    p.row("Throughput and lag")
    p.timeseries("Records consumed per second", [(f"sum by (topic, outcome) (rate({c.EVENTS}[1m]))", "{{topic}} {{outcome}}")],
                 unit="reqps", description="By topic and outcome (accepted, duplicate, rejected).")
    p.timeseries("Consumer lag by topic", [(f"sum by (topic) ({c.CONSUMER_LAG})", "{{topic}}")],
                 thresholds=[(None, GREEN), (pl.lag_max_messages, RED)])

    window = pl.rejected_window
    p.row("Late, rejected and dead-lettered events")
    p.timeseries("Rejected records per second by reason", [(f"sum by (reason) (rate({c.REJECTED}[{window}]))", "{{reason}}")],
                 unit="reqps", w=8)
    p.timeseries(
        "Rejected share of consumed records",
        [(f"sum(rate({c.REJECTED}[{window}])) / sum(rate({c.EVENTS}[{window}]))", "rejected")],
        unit="percentunit", thresholds=[(None, GREEN), (pl.rejected_max_ratio, RED)], w=8,
    )
    p.timeseries(
        "Late, duplicate and dead-lettered per second",
        [
            (f"sum(rate({c.LATE}[{window}]))", "late (past the grace)"),
            (f"sum(rate({c.DUPLICATES}[{window}]))", "duplicates"),
            (f"sum(rate({c.DEAD_LETTERS}[{window}]))", "dead letters written"),
            (f"sum(rate({c.DEAD_LETTER_FAILURES}[{window}]))", "dead-letter failures"),
        ],
        unit="reqps", w=8,
    )

    export_age = pl.export_max_age.seconds
    p.row("Scale-out and durable state")
    p.stat("KPI values age", f"time() - max({c.EXPORTED_AT})", unit="s", decimals=0,
           thresholds=[(None, GREEN), (export_age / 2, AMBER), (export_age, RED)], w=4, h=6,
           description="Since the exporting worker last merged every worker's partial; the KPI gauges are that old.")
    p.stat("KPI values complete", f"max({c.EXPORT_COMPLETE})", thresholds=[(None, RED), (1, GREEN)], w=4, h=6,
           description="1 when the served values cover every input partition; 0 during a rebalance (the last complete values stay up).")
    p.timeseries("Partitions owned", [(f"max by (instance) ({c.PARTITIONS_OWNED})", "{{instance}}")], w=8, h=6,
                 description="Input partitions whose state each worker holds; they move on rebalances.")
    p.timeseries(
        "Checkpoints and restores",
        [
            (f"sum by (outcome) (rate({c.CHECKPOINTS}[5m]))", "checkpoints {{outcome}}"),
            (f"sum by (outcome) (rate({c.PARTITION_RESTORES}[5m]))", "restores {{outcome}}"),
        ],
        unit="reqps", w=8, h=6,
        description="Partition checkpoints written (failed, too large) and partitions restored on assignment (empty, reset).",
    )

    p.row("Evaluation and state")
    p.timeseries("Evaluation duration", [(f"max by (instance) ({c.EVALUATION_SECONDS})", "{{instance}}")], unit="s", w=8)
    p.timeseries("Event-to-metric lag", [(f"max by (instance) ({c.LAG_SECONDS})", "{{instance}}")], unit="s", w=8)
    p.timeseries(
        "Engine state size",
        [(f"sum({c.TRACKED_TICKETS})", "tickets"), (f"sum({c.TRACKED_CUSTOMERS})", "customers")],
        w=8,
    )
    p.timeseries("Label values capped", [(f"max by (label) ({c.LABEL_OVERFLOW})", "{{label}}")],
                 description="1 once a label hit its value cap and new values are reported as `other`.",
                 min_value=0, max_value=1, w=12)
    p.timeseries("Workers", [(sel("up", eq("job", pl.job)), "{{instance}}")], min_value=0, max_value=1, w=12,
                 description="Scrape health per worker (1 up, 0 down).")

    return dashboard(
        model, model.grafana.pipeline, p, tags=["pipeline"], links=dashboard_links(model),
        description="Health of the stream pipeline. " + generated_note(model),
    )
