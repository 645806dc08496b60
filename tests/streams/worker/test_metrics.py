"""The worker's /metrics for a small, hand-made state, sample by sample, from a fresh registry.

Real scrapes of real workers (and `promtool check metrics` on them) are
tests/streams/test_worker.py; this pins what each sample says and when it is absent.
"""

from __future__ import annotations

import orjson
import pytest

from kpi.partial import TP, KpiSnapshot
from kpi.sla import LiveSla
from streams.settings import Settings
from streams.worker.first_offsets import FirstOffsets
from streams.worker.checkpoints import CheckpointStore
from streams.worker.engines import DeadLetter, Evaluation, PartitionEngines
from streams.worker.exchange import PartialsExchange
from streams.worker.metrics import build_registry
from tests.streams.worker.fakes import NOW, FakeCommitter, FakeGroup, FakeProducer, FakeReader, survey


def ticket(event_type: str, ts: float, **fields: str) -> bytes:
    return orjson.dumps({"event_id": f"t1-{event_type}", "type": event_type, "ts": ts, "ticket_id": "t1", **fields})


def worker(assigned: set[TP]):
    settings = Settings(evaluation_interval="1s")
    dead: list[DeadLetter] = []
    engines = PartitionEngines(settings, dead.append, clock=lambda: NOW)
    store = CheckpointStore(settings, engines, FakeReader(), FakeProducer(), FakeCommitter(), FirstOffsets())
    exchange = PartialsExchange(settings, engines, lambda: [], FakeGroup(assigned), FakeProducer(), "me")
    registry = build_registry(engines, store, exchange, lambda: {TP("surveys", 0): 7}, lambda: True)
    return engines, store, exchange, registry


def samples(registry) -> dict:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value for family in registry.collect() for s in family.samples}


def test_the_exporting_worker_serves_kpis_sla_pipeline_and_state_metrics_exactly() -> None:
    engines, store, exchange, registry = worker({TP("tickets", 0)})
    assert engines.handle("surveys", 0, 0, survey("a", NOW - 10)) == "accepted"
    assert engines.handle("surveys", 0, 1, survey("a", NOW - 10)) == "duplicate"
    assert engines.handle("surveys", 0, 2, b"{") == "invalid_json"
    created = ticket("ticket.created", NOW - 20, customer_id="c1", team="billing", channel="chat", priority="high")
    assert engines.handle("tickets", 0, 0, created) == "accepted"
    engines.last_evaluation = Evaluation(evaluated_at=NOW, watermark=NOW - 10, duration_seconds=0.25)
    store.checkpoints.update(written=3, failed=1)
    store.restores.update(restored=2, empty=1)
    store.checkpoint_bytes = 2048
    merger = exchange.merger
    merger.snapshot = KpiSnapshot(
        evaluated_at=NOW - 1,
        watermark=NOW - 10,
        windows={"5m": [("nps", {}, 100.0), ("nps_responses", {}, 1), ("csat", {"team": "billing"}, 50.0), ("ces", {}, None), ("revenue", {}, 120.5)]},
        sla={("billing", "high"): LiveSla(3, 1, {"15m": 1, "30m": 2, "1h": 2})},
    )
    merger.complete, merger.workers = True, 2

    # By hand, from the state above: KPI rows scaled (csat 50 % -> 0.5), undefined ones absent,
    # currency KPIs labelled with the reporting currency; the default SLA targets (4h/8h/24h/72h).
    expected = {
        ("cxkpi_nps_score", (("window", "5m"),)): 100.0,
        ("cxkpi_nps_responses", (("window", "5m"),)): 1,
        ("cxkpi_csat_ratio", (("team", "billing"), ("window", "5m"))): 0.5,
        ("cxkpi_revenue", (("currency", "USD"), ("window", "5m"))): 120.5,
        ("cxkpi_sla_open_tickets", (("priority", "high"), ("team", "billing"))): 3,
        ("cxkpi_sla_breached_tickets", (("priority", "high"), ("team", "billing"))): 1,
        ("cxkpi_sla_at_risk_tickets", (("priority", "high"), ("team", "billing"), ("within", "15m"))): 1,
        ("cxkpi_sla_at_risk_tickets", (("priority", "high"), ("team", "billing"), ("within", "30m"))): 2,
        ("cxkpi_sla_at_risk_tickets", (("priority", "high"), ("team", "billing"), ("within", "1h"))): 2,
        ("cxkpi_sla_target_seconds", (("priority", "urgent"),)): 4 * 3600,
        ("cxkpi_sla_target_seconds", (("priority", "high"),)): 8 * 3600,
        ("cxkpi_sla_target_seconds", (("priority", "normal"),)): 24 * 3600,
        ("cxkpi_sla_target_seconds", (("priority", "low"),)): 72 * 3600,
        ("cxkpi_events_total", (("outcome", "accepted"), ("topic", "surveys"))): 1,
        ("cxkpi_events_total", (("outcome", "duplicate"), ("topic", "surveys"))): 1,
        ("cxkpi_events_total", (("outcome", "rejected"), ("topic", "surveys"))): 1,
        ("cxkpi_events_total", (("outcome", "accepted"), ("topic", "tickets"))): 1,
        ("cxkpi_events_rejected_total", (("reason", "invalid_json"),)): 1,
        ("cxkpi_late_events_total", ()): 0,
        ("cxkpi_duplicate_events_total", ()): 1,
        ("cxkpi_dead_letters_total", ()): 1,
        ("cxkpi_dead_letter_failures_total", ()): 0,
        ("cxkpi_watermark_timestamp_seconds", ()): NOW - 10,
        ("cxkpi_event_to_metric_lag_seconds", ()): 10,
        ("cxkpi_evaluation_timestamp_seconds", ()): NOW,
        ("cxkpi_evaluation_duration_seconds", ()): 0.25,
        ("cxkpi_last_event_processed_timestamp_seconds", ()): NOW,
        ("cxkpi_consumer_lag_messages", (("partition", "0"), ("topic", "surveys"))): 7,
        ("cxkpi_kafka_connected", ()): 1,
        ("cxkpi_tracked_tickets", ()): 1,  # t1 is open
        ("cxkpi_tracked_customers", ()): 0,  # only sign-ups and churns track customers
        ("cxkpi_label_values_capped", (("label", "team"),)): 0,
        ("cxkpi_label_values_capped", (("label", "channel"),)): 0,
        ("cxkpi_label_values_capped", (("label", "feature"),)): 0,
        ("cxkpi_partitions_owned", ()): 2,  # surveys-0 and tickets-0
        ("cxkpi_reread_records_skipped_total", ()): 0,
        ("cxkpi_exporter", ()): 1,
        ("cxkpi_export_complete", ()): 1,
        ("cxkpi_export_workers", ()): 2,
        ("cxkpi_export_evaluation_timestamp_seconds", ()): NOW - 1,
        ("cxkpi_checkpoints_total", (("outcome", "written"),)): 3,
        ("cxkpi_checkpoints_total", (("outcome", "failed"),)): 1,
        ("cxkpi_checkpoints_total", (("outcome", "too_large"),)): 0,
        ("cxkpi_checkpoint_bytes", ()): 2048,
        ("cxkpi_partition_restores_total", (("outcome", "restored"),)): 2,
        ("cxkpi_partition_restores_total", (("outcome", "empty"),)): 1,
        ("cxkpi_partition_restores_total", (("outcome", "reset"),)): 0,
    }
    assert samples(registry) == pytest.approx(expected)
    assert registry.get_sample_value("cxkpi_csat_ratio", {"window": "5m", "team": "billing"}) == pytest.approx(0.5)
    assert registry.get_sample_value("cxkpi_ces_score", {"window": "5m"}) is None  # undefined: absent, not NaN


def test_a_worker_without_the_exporter_role_serves_no_kpi_or_sla_series() -> None:
    engines, _, exchange, registry = worker({TP("tickets", 1)})
    exchange.merger.snapshot = KpiSnapshot(NOW, NOW, {"5m": [("nps", {}, 100.0)]}, {("billing", "high"): LiveSla(1, 0, {})})
    exchange.merger.complete = True
    names = {name for name, _ in samples(registry)}
    assert registry.get_sample_value("cxkpi_exporter") == 0
    assert not {n for n in names if n.startswith(("cxkpi_nps", "cxkpi_sla_", "cxkpi_export_"))}
    # Before any evaluation or connection news, the gauges that would be 0 by mistake are absent.
    assert not names & {"cxkpi_watermark_timestamp_seconds", "cxkpi_evaluation_timestamp_seconds", "cxkpi_last_event_processed_timestamp_seconds"}


def test_the_exporter_before_its_first_complete_merge_serves_no_kpi_values() -> None:
    _, _, exchange, registry = worker({TP("tickets", 0)})
    assert registry.get_sample_value("cxkpi_exporter") == 1
    assert registry.get_sample_value("cxkpi_export_complete") == 0
    assert registry.get_sample_value("cxkpi_export_evaluation_timestamp_seconds") is None
    assert registry.get_sample_value("cxkpi_sla_target_seconds", {"priority": "high"}) is None


def test_every_resolution_lands_in_the_histogram_whose_buckets_include_each_sla_target() -> None:
    engines, _, _, registry = worker(set())
    created = ticket("ticket.created", NOW - 4000, customer_id="c1", team="billing", channel="chat", priority="high")
    engines.handle("tickets", 0, 0, created)
    engines.handle("tickets", 0, 1, ticket("ticket.resolved", NOW - 400, agent_id="a1"))
    labels = {"team": "billing", "priority": "high"}
    # By hand: resolved 3600 s after creation, within the 8h target of priority high.
    assert registry.get_sample_value("cxkpi_ticket_resolution_seconds_count", labels) == 1
    assert registry.get_sample_value("cxkpi_ticket_resolution_seconds_sum", labels) == 3600
    assert registry.get_sample_value("cxkpi_ticket_resolution_seconds_bucket", {**labels, "le": "1800.0"}) == 0
    assert registry.get_sample_value("cxkpi_ticket_resolution_seconds_bucket", {**labels, "le": "3600.0"}) == 1
    assert registry.get_sample_value("cxkpi_ticket_resolution_seconds_bucket", {**labels, "le": "14400.0"}) == 1  # urgent's target
    assert registry.get_sample_value("cxkpi_ticket_resolution_seconds_bucket", {**labels, "le": "259200.0"}) == 1  # low's target
