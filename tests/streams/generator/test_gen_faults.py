"""Injected faults: honoured fractions, truly invalid records, lifecycles intact."""

from __future__ import annotations

import itertools
from collections import Counter

import pytest

from streams.generator import ConfigError, FaultConfig, FaultInjector, Simulation
from streams.generator.malformed import MALFORMED_KINDS, MalformedFactory
from streams.generator.timefmt import Rfc3339MsFormatter

from .event_contract_checker import TOPIC_OF_TYPE, check_line, parse_ts_seconds
from .gen_support import (
    customer_order_violations,
    first_occurrences,
    generate,
    make_config,
    ticket_order_violations,
    valid_events,
)

CUSTOMER_TOPIC_TYPES = {t for t, topic in TOPIC_OF_TYPE.items() if topic == "customers"}
RECORDS = 60_000
LATE_BY_SECONDS = 120.0  # short against the run, so few are still held at the end
FAULTS = FaultConfig(
    duplicate_fraction=0.02,
    late_fraction=0.03,
    late_by_seconds=LATE_BY_SECONDS,
    out_of_order_fraction=0.05,
    out_of_order_horizon_seconds=60.0,
    malformed_fraction=0.01,
)


@pytest.fixture(scope="module")
def faulty():
    sink, summary = generate(RECORDS, seed=21, faults=FAULTS)
    return sink, summary


def test_malformed_records_are_invalid_and_counted(faulty):
    sink, summary = faulty
    invalid = [value for value in sink.values if check_line(value)[1]]
    assert len(invalid) == summary.faults.malformed_total
    assert 0.8 * 0.01 * RECORDS < len(invalid) < 1.2 * 0.01 * RECORDS
    assert all(summary.faults.malformed[kind] > 0 for kind in MALFORMED_KINDS)


def test_every_malformed_kind_breaks_the_contract():
    factory = MalformedFactory(__import__("random").Random(1), Rfc3339MsFormatter(), "bad-")
    seen = Counter()
    for i in range(3_000):
        topic, key, value, kind = factory.make(1_714_521_600.0 + i)
        _, errors = check_line(value)
        assert errors, (kind, value)
        assert b"\n" not in value
        assert topic in ("tickets", "surveys", "orders", "customers")
        seen[kind] += 1
    assert set(seen) == set(MALFORMED_KINDS)


def test_malformed_wrong_type_includes_string_and_fractional_scores():
    factory = MalformedFactory(__import__("random").Random(2), Rfc3339MsFormatter(), "bad-")
    scores = []
    for _ in range(2_000):
        value = factory._wrong_type(1_714_521_600.0)
        event = __import__("json").loads(value)
        if event.get("type", "").startswith("survey.") and "score" in event:
            scores.append(event["score"])
    assert any(isinstance(s, str) for s in scores)
    assert any(isinstance(s, float) and not s.is_integer() for s in scores)


def test_duplicates_repeat_earlier_records_verbatim(faulty):
    sink, summary = faulty
    seen_values: set[bytes] = set()
    seen_ids: set[str] = set()
    repeats = 0
    for value in sink.values:
        event, errors = check_line(value)
        if errors:
            continue
        if event["event_id"] in seen_ids:
            repeats += 1
            assert value in seen_values  # byte for byte, not a new event with an old id
        seen_ids.add(event["event_id"])
        seen_values.add(value)
    assert repeats == summary.faults.duplicate
    assert 0.8 * 0.02 * RECORDS < repeats < 1.2 * 0.02 * RECORDS


def test_late_events_arrive_late_by_late_by(faulty):
    sink, summary = faulty
    newest = float("-inf")
    late = Counter()
    # (a duplicate of a late event is late again, but counted as a duplicate)
    for event in first_occurrences(valid_events(sink.values)):
        ts = parse_ts_seconds(event["ts"])
        if ts <= newest - 0.9 * LATE_BY_SECONDS:
            late[event["type"]] += 1
        newest = max(newest, ts)
    assert abs(sum(late.values()) - summary.faults.late) <= 0.02 * summary.faults.late + 5
    # tickets, signups and churns are never delayed
    assert not {t for t in late if t.startswith("ticket.")} | (
        set(late) & {"customer.signed_up", "customer.churned"}
    )
    eligible = summary.records * 0.8  # surveys, orders, customer.active, feature.used
    assert 0.6 * 0.03 * eligible < summary.faults.late < 1.4 * 0.03 * eligible


def test_out_of_order_events_go_back_at_most_the_horizon(faulty):
    sink, summary = faulty
    newest = float("-inf")
    back = []
    for event in valid_events(sink.values):
        ts = parse_ts_seconds(event["ts"])
        if ts < newest:
            back.append(newest - ts)
        newest = max(newest, ts)
    short = [b for b in back if b <= 61.0]
    assert len(short) > 0.5 * summary.faults.out_of_order
    assert 0.8 * 0.05 * RECORDS < summary.faults.out_of_order < 1.2 * 0.05 * RECORDS


def test_faults_keep_each_tickets_order(faulty):
    sink, _ = faulty
    events = first_occurrences(valid_events(sink.values))
    assert ticket_order_violations(events) == []


def test_faults_keep_each_customers_lifecycle(faulty):
    sink, _ = faulty
    events = first_occurrences(valid_events(sink.values))
    # Late events are late by design: check the lifecycle in ts order. Within
    # one millisecond a signup may have been held back behind an order of
    # the same customer (other topic): put signups first.
    by_ts = sorted(
        events, key=lambda e: (parse_ts_seconds(e["ts"]), e["type"] != "customer.signed_up")
    )
    assert customer_order_violations(by_ts) == []
    # ... and in arrival order, on the customers topic (the only order Kafka
    # keeps is within a topic partition), a customer's first event is the signup
    first_type = {}
    for event in events:
        if event["type"] in CUSTOMER_TOPIC_TYPES:
            first_type.setdefault(event["customer_id"], event["type"])
    assert set(first_type.values()) == {"customer.signed_up"}


def test_faults_do_not_change_the_simulated_events():
    faulty_sink, _ = generate(10_000, seed=5, faults=FAULTS)
    clean_sink, _ = generate(12_000, seed=5)
    clean = set(clean_sink.values)
    kept = {v for v in faulty_sink.values if not check_line(v)[1]}
    assert kept <= clean


def test_same_seed_same_faults_identical_bytes():
    first, _ = generate(10_000, seed=8, faults=FAULTS)
    second, _ = generate(10_000, seed=8, faults=FAULTS)
    assert first.records == second.records


def test_fault_buffers_stay_bounded():
    faults = FaultConfig(
        duplicate_fraction=0.2,
        late_fraction=1.0,
        late_by_seconds=3600,
        out_of_order_fraction=0.5,
        malformed_fraction=0.2,
        max_held_events=5_000,
    )
    simulation = Simulation(make_config(seed=4, rate_per_second=1_000))
    injector = FaultInjector(faults, 4, Rfc3339MsFormatter())
    peaks = Counter()
    records = injector.records(simulation)
    for _ in range(200):
        for _ in itertools.islice(records, 1_000):
            pass
        for name, size in (
            ("held", injector.held_count),
            ("keys", len(injector._key_pending)),
            ("recent", len(injector._recent)),
        ):
            peaks[name] = max(peaks[name], size)
    # New faults stop at the cap; events already waiting behind a held one of
    # their ticket or customer may still join it (bounded by rate x horizon).
    assert peaks["held"] <= 2 * 5_000
    assert peaks["keys"] <= 5_000
    assert peaks["recent"] <= 256
    assert injector.counts.skipped_buffer_full > 0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"duplicate_fraction": -0.1},
        {"late_fraction": 1.5},
        {"out_of_order_fraction": float("nan")},
        {"duplicate_fraction": 0.5, "malformed_fraction": 0.5},
        {"late_by_seconds": 0},
        {"out_of_order_horizon_seconds": -1},
    ],
)
def test_bad_fault_settings_are_rejected(kwargs):
    with pytest.raises(ConfigError):
        FaultConfig(**kwargs)
