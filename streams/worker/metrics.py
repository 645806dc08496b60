"""Prometheus exposition: a custom collector that reads the worker's latest evaluation on each scrape.

Scrapes run on the processing event loop, so `collect()` only formats numbers that the
evaluation timer already computed; nothing here walks engine state. The registry is fresh
per app (never the global one), so tests can build several.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from kpi.partial import TP, KpiSnapshot
from kpi.reasons import LATE
from streams import conventions as c
from streams.worker.checkpoints import CHECKPOINT_OUTCOMES, RESTORE_OUTCOMES, CheckpointStore
from streams.worker.engines import Evaluation, PartitionEngines
from streams.worker.exchange import PartialsExchange

# Resolution-time buckets: round durations plus every SLA target, so that
# `le="<target>"` answers "resolved within SLA" exactly.
BASE_BUCKETS_SECONDS = (300, 900, 1800, 3600, 2 * 3600, 12 * 3600, 2 * 86400, 7 * 86400)


def resolution_buckets(targets_seconds: dict[str, float]) -> tuple[float, ...]:
    """The resolution histogram's upper bounds in seconds: `BASE_BUCKETS_SECONDS` and every
    SLA target (priority -> seconds), sorted, without duplicates."""
    return tuple(sorted(set(float(b) for b in BASE_BUCKETS_SECONDS) | {float(t) for t in targets_seconds.values()}))


class WorkerCollector:
    """Every metric of one worker except the resolution histogram, built fresh on each scrape.

    Pipeline metrics (records, rejects, dead letters, lag, state sizes) from `engines`;
    checkpoint and restore counters from `store`; the exporter role and, on the exporting
    worker only, the group's KPI values and live SLA gauges from `exchange`.
    `consumer_lag()`: partition -> records not yet processed. `kafka_connected()`: None
    while unknown (the gauge is then absent). Names and help texts: streams/conventions.py.
    """

    def __init__(
        self,
        engines: PartitionEngines,
        store: CheckpointStore,
        exchange: PartialsExchange,
        consumer_lag: Callable[[], dict[TP, int]],
        kafka_connected: Callable[[], bool | None],
    ) -> None:
        self.engines = engines
        self.store = store
        self.exchange = exchange
        self.consumer_lag = consumer_lag
        self.kafka_connected = kafka_connected
        self.currency = engines.settings.reporting_currency

    def describe(self) -> list[Metric]:
        """Nothing: registering must not trigger a collect() before the app runs."""
        return []

    def collect(self) -> Iterator[Metric]:
        """The metric families of this scrape (the registry calls it)."""
        exported = self._exported()
        if exported is not None:
            # Only the exporting worker serves KPI values: the group's merged total, never
            # one worker's share (streams/worker/partials.py).
            yield from self._kpis(exported)
            yield from self._sla(exported)
        yield from self._pipeline(self.engines.last_evaluation)
        yield from self._scale()

    def _exported(self) -> KpiSnapshot | None:
        snapshot = self.exchange.merger.snapshot
        if not self.exchange.is_exporter() or not snapshot.evaluated_at:
            return None
        return snapshot

    def _scale(self) -> Iterator[Metric]:
        p, store = self.engines, self.store
        yield GaugeMetricFamily(c.PARTITIONS_OWNED, "Input partitions whose state this worker holds", value=len(p.engines))
        yield CounterMetricFamily(c.REREAD_SKIPPED, "Records re-read after a restore and skipped: already in the restored state", value=p.skipped_already_in_state)
        exporting = self.exchange.is_exporter()
        yield GaugeMetricFamily(c.EXPORTER, "1 on the one worker of the group that serves the KPI values", value=1.0 if exporting else 0.0)
        if exporting:
            ex = self.exchange.merger
            yield GaugeMetricFamily(c.EXPORT_COMPLETE, "1 when the KPI values cover every input partition; 0 while a rebalance is pending (the last complete values stay up)", value=1.0 if ex.complete else 0.0)
            yield GaugeMetricFamily(c.EXPORT_WORKERS, "Workers whose partials make up the KPI values", value=ex.workers)
            if ex.snapshot.evaluated_at:
                yield GaugeMetricFamily(c.EXPORTED_AT, "Evaluation time of the oldest partial in the KPI values", value=ex.snapshot.evaluated_at)
        checkpoints = CounterMetricFamily(c.CHECKPOINTS, "Partition checkpoints, by outcome", labels=["outcome"])
        for outcome in CHECKPOINT_OUTCOMES:
            checkpoints.add_metric([outcome], store.checkpoints.get(outcome, 0))
        yield checkpoints
        yield GaugeMetricFamily(c.CHECKPOINT_BYTES, "Size of the last checkpoint written", value=store.checkpoint_bytes)
        restores = CounterMetricFamily(c.PARTITION_RESTORES, "Partitions assigned, by how their state started: restored, empty (no checkpoint), reset (checkpoint unusable)", labels=["outcome"])
        for outcome in RESTORE_OUTCOMES:
            restores.add_metric([outcome], store.restores.get(outcome, 0))
        yield restores

    def _kpis(self, snap: KpiSnapshot) -> Iterator[Metric]:
        currency = self.currency
        families: dict[str, Metric] = {}
        for window, rows in snap.windows.items():
            for kpi, labels, value in rows:
                if value is None:
                    continue  # undefined (zero denominator): absent, not NaN
                spec = c.KPI_METRICS[kpi]
                family = families.get(kpi)
                if family is None:
                    family = families[kpi] = Metric(spec.name, spec.help, "gauge")
                sample_labels = {c.WINDOW_LABEL: window, **labels}
                if kpi in c.CURRENCY_KPIS:
                    sample_labels["currency"] = currency
                family.add_sample(spec.name, sample_labels, value * spec.scale)
        yield from families.values()

    def _sla(self, snap: KpiSnapshot) -> Iterator[Metric]:
        labels = ["team", "priority"]
        open_ = GaugeMetricFamily(c.SLA_OPEN, "Open tickets now (wall clock)", labels=labels)
        breached = GaugeMetricFamily(c.SLA_BREACHED, "Open tickets already past their resolution target", labels=labels)
        at_risk = GaugeMetricFamily(c.SLA_AT_RISK, "Open tickets that breach their target within the horizon", labels=[*labels, "within"])
        for (team, priority), state in sorted(snap.sla.items()):
            open_.add_metric([team, priority], state.open)
            breached.add_metric([team, priority], state.breached)
            for horizon, n in state.at_risk.items():
                at_risk.add_metric([team, priority, horizon], n)
        targets = GaugeMetricFamily(c.SLA_TARGET, "Resolution target per priority", labels=["priority"])
        for priority, seconds in self.engines.sla_policy.targets_seconds.items():
            targets.add_metric([priority], seconds)
        yield from (open_, breached, at_risk, targets)

    def _pipeline(self, snap: Evaluation) -> Iterator[Metric]:
        p = self.engines
        events = CounterMetricFamily(c.EVENTS, "Records consumed, by topic and outcome", labels=["topic", "outcome"])
        for (topic, outcome), n in sorted(p.events.items()):
            events.add_metric([topic, outcome], n)
        rejected = CounterMetricFamily(c.REJECTED, "Records rejected and dead-lettered, by reason", labels=["reason"])
        for reason, n in sorted(p.rejected.items()):
            rejected.add_metric([reason], n)
        yield events
        yield rejected
        yield CounterMetricFamily(c.LATE, "Events later than the grace period (dead-lettered)", value=p.rejected.get(LATE, 0))
        yield CounterMetricFamily(c.DUPLICATES, "Events whose id was already seen (counted once)", value=p.duplicates)
        yield CounterMetricFamily(c.DEAD_LETTERS, "Records written to the dead-letter topic", value=p.dead_letters)
        yield CounterMetricFamily(c.DEAD_LETTER_FAILURES, "Dead-letter writes that failed", value=p.dead_letter_failures)
        if snap.watermark is not None:
            yield GaugeMetricFamily(c.WATERMARK, "Highest accepted event time", value=snap.watermark)
            yield GaugeMetricFamily(c.LAG_SECONDS, "Evaluation time minus the watermark: how old the newest data in the KPI gauges is", value=max(0.0, snap.evaluated_at - snap.watermark))
        if snap.evaluated_at:
            yield GaugeMetricFamily(c.EVALUATED_AT, "When the KPI gauges were last computed", value=snap.evaluated_at)
            yield GaugeMetricFamily(c.EVALUATION_SECONDS, "Time the last evaluation took", value=snap.duration_seconds)
        if p.last_event_at is not None:
            yield GaugeMetricFamily(c.LAST_EVENT_AT, "Wall-clock time the last record was processed", value=p.last_event_at)
        lag = GaugeMetricFamily(c.CONSUMER_LAG, "Messages not yet processed, per assigned partition", labels=["topic", "partition"])
        for (topic, partition), n in sorted(self.consumer_lag().items()):
            lag.add_metric([topic, str(partition)], n)
        yield lag
        connected = self.kafka_connected()
        if connected is not None:  # unknown before the consumer has started
            yield GaugeMetricFamily(c.KAFKA_CONNECTED, "1 while the consumer holds a live connection to a broker, 0 during an outage", value=1.0 if connected else 0.0)
        yield GaugeMetricFamily(c.TRACKED_TICKETS, "Tickets held in engine state", value=p.tracked_tickets)
        yield GaugeMetricFamily(c.TRACKED_CUSTOMERS, "Customers held in engine state", value=p.tracked_customers)
        overflow = GaugeMetricFamily(c.LABEL_OVERFLOW, "1 when a label hit its value cap and new values map to 'other'", labels=["label"])
        for dim in ("team", "channel", "feature"):
            overflow.add_metric([dim], 1.0 if p.label_overflowed(dim) else 0.0)
        yield overflow


def build_registry(
    engines: PartitionEngines,
    store: CheckpointStore,
    exchange: PartialsExchange,
    consumer_lag: Callable[[], dict[TP, int]],
    kafka_connected: Callable[[], bool | None],
) -> CollectorRegistry:
    """A fresh registry (never the global one: tests run several workers per process) with the
    `WorkerCollector` and the resolution-time histogram, which `engines` feeds on every resolution."""
    registry = CollectorRegistry()
    registry.register(WorkerCollector(engines, store, exchange, consumer_lag, kafka_connected))
    histogram = Histogram(
        c.RESOLUTION_HISTOGRAM,
        "Ticket resolution time; buckets include every SLA target",
        labelnames=["team", "priority"],
        buckets=resolution_buckets(engines.sla_policy.targets_seconds),
        registry=registry,
    )
    engines.on_resolution = lambda team, priority, seconds: histogram.labels(team, priority).observe(seconds)
    return registry
