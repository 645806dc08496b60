"""The fault-free stream: determinism, the contract, lifecycle order, realism, memory."""

from __future__ import annotations

import itertools
import statistics
import tracemalloc
from collections import Counter, defaultdict

import pytest

from streams.generator import Simulation, TopicNames

from .event_contract_checker import TOPIC_OF_TYPE, check_line, parse_ts_seconds
from .gen_support import (
    START_SECONDS,
    customer_order_violations,
    generate,
    make_config,
    ticket_order_violations,
    valid_events,
)

SLA_SECONDS = {"urgent": 4 * 3600, "high": 8 * 3600, "normal": 24 * 3600, "low": 72 * 3600}


@pytest.fixture(scope="module")
def stream():
    """A day and a half of traffic at 0.3 records/s: long enough for SLAs to breach."""
    sink, summary = generate(40_000, seed=11, rate_per_second=0.3)
    return sink, summary, valid_events(sink.values)


def test_same_seed_gives_identical_bytes():
    first, _ = generate(5_000, seed=3)
    second, _ = generate(5_000, seed=3)
    assert first.records == second.records


def test_different_seed_gives_different_events():
    first, _ = generate(1_000, seed=3)
    second, _ = generate(1_000, seed=4)
    assert first.values != second.values
    # ids carry a per-seed token, so two runs can share a topic
    assert not {v for v in first.values} & {v for v in second.values}


@pytest.mark.parametrize("count", [0, 1, 17, 5_000])
def test_count_is_honoured(count):
    sink, summary = generate(count)
    assert len(sink.records) == count == summary.records
    assert sink.closed


def test_every_event_follows_the_contract(stream):
    sink, _, events = stream
    problems = [(value, check_line(value)[1]) for value in sink.values if check_line(value)[1]]
    assert problems == []
    assert len(events) == len(sink.values)
    assert len({e["event_id"] for e in events}) == len(events)
    assert set(e["type"] for e in events) == set(TOPIC_OF_TYPE)


def test_records_are_routed_and_keyed_as_the_contract_says():
    names = TopicNames.with_prefix("cx.", orders="shop-orders")
    sink, summary = generate(5_000, topic_names=names)
    expected_topic = {"tickets": "cx.tickets", "surveys": "cx.surveys", "orders": "shop-orders", "customers": "cx.customers"}
    for topic, key, value in sink.records:
        event, errors = check_line(value)
        assert not errors
        assert topic == expected_topic[TOPIC_OF_TYPE[event["type"]]]
        key_field = "ticket_id" if topic == "cx.tickets" else "customer_id"
        assert key == event[key_field].encode()
    assert sum(summary.records_by_topic.values()) == 5_000


def test_timestamps_start_at_start_and_never_go_back(stream):
    _, summary, events = stream
    times = [parse_ts_seconds(e["ts"]) for e in events]
    assert times[0] >= START_SECONDS
    assert all(b >= a for a, b in zip(times, times[1:]))
    # 0.3 records/s over 40,000 records is about 37 simulated hours
    assert 30 * 3600 < times[-1] - START_SECONDS < 45 * 3600
    assert events[0]["ts"].endswith("Z") and len(events[0]["ts"]) == len("2024-05-01T00:00:00.000Z")


def test_epoch_ts_format():
    sink, _ = generate(500, ts_format="epoch")
    events = valid_events(sink.values)
    assert len(events) == 500
    assert all(isinstance(e["ts"], float) and e["ts"] >= START_SECONDS for e in events)


def test_each_tickets_events_are_in_order(stream):
    _, _, events = stream
    assert ticket_order_violations(events) == []


def test_each_customers_events_are_in_order(stream):
    _, _, events = stream
    assert customer_order_violations(events) == []


def test_ticket_lifecycles_are_rich(stream):
    _, _, events = stream
    counts = Counter(e["type"] for e in events)
    created = counts["ticket.created"]
    assert created > 500
    assert counts["ticket.agent_replied"] > created  # several replies per ticket
    assert counts["ticket.customer_replied"] > 0.3 * created
    assert 0 < counts["ticket.reopened"] < 0.2 * created
    per_ticket_replies = Counter(e["ticket_id"] for e in events if e["type"] == "ticket.agent_replied")
    assert max(per_ticket_replies.values()) >= 4
    mix = Counter(e[name] for e in events if e["type"] == "ticket.created" for name in ("priority",))
    assert mix.most_common(1)[0][0] == "normal"
    teams = {e["team"] for e in events if e["type"] == "ticket.created"}
    channels = {e["channel"] for e in events if e["type"] == "ticket.created"}
    assert 5 <= len(teams) <= 8
    assert channels == {"email", "chat", "web", "phone", "social"}


def test_some_tickets_breach_their_sla_and_most_do_not(stream):
    _, _, events = stream
    created = {}
    breached: Counter[str] = Counter()
    resolved: Counter[str] = Counter()
    first_responses = []
    for e in events:
        if e["type"] == "ticket.created":
            created[e["ticket_id"]] = (parse_ts_seconds(e["ts"]), e["priority"])
        elif e["type"] == "ticket.agent_replied" and e["ticket_id"] in created:
            opened, _ = created[e["ticket_id"]]
            first_responses.append(parse_ts_seconds(e["ts"]) - opened)
        elif e["type"] == "ticket.resolved" and e["ticket_id"] in created:
            opened, priority = created.pop(e["ticket_id"])
            resolved[priority] += 1
            breached[priority] += parse_ts_seconds(e["ts"]) - opened > SLA_SECONDS[priority]
    assert breached["urgent"] > 0 and breached["high"] > 0 and breached["normal"] > 0
    assert sum(breached.values()) < 0.3 * sum(resolved.values())
    # heavy tail: the mean is well above the median
    assert statistics.mean(first_responses) > 1.5 * statistics.median(first_responses)


def test_survey_scores_have_realistic_shapes(stream):
    _, _, events = stream
    scores = defaultdict(list)
    for e in events:
        if e["type"].startswith("survey."):
            scores[e["type"]].append(e["score"])
    nps = scores["survey.nps"]
    promoters = sum(s >= 9 for s in nps) / len(nps)
    detractors = sum(s <= 6 for s in nps) / len(nps)
    assert sum(s >= 7 for s in nps) / len(nps) > 0.65
    assert promoters > detractors > 0
    csat = scores["survey.csat"]
    assert 0.6 < sum(s >= 4 for s in csat) / len(csat) < 0.9
    assert set(scores["survey.ces"]) <= set(range(1, 8))
    ticket_surveys = [e for e in events if e["type"].startswith("survey.") and "ticket_id" in e]
    assert ticket_surveys and all("team" in e and "channel" in e for e in ticket_surveys)
    assert len(ticket_surveys) < sum(map(len, scores.values()))


def test_checkouts_mostly_do_not_convert(stream):
    _, _, events = stream
    counts = Counter(e["type"] for e in events)
    assert 0.15 < counts["order.placed"] / counts["checkout.started"] < 0.4
    amounts = [e["amount"] for e in events if e["type"] == "order.placed"]
    assert min(amounts) >= 0
    assert statistics.mean(amounts) > statistics.median(amounts)  # lognormal skew


def test_features_have_different_adoption(stream):
    _, _, events = stream
    users = defaultdict(set)
    for e in events:
        if e["type"] == "feature.used":
            users[e["feature"]].add(e["customer_id"])
    assert len(users) == 5
    assert len(users["reports"]) > 2 * len(users["ai_assist"])


def test_caps_bound_memory_over_200k_events():
    # Small caps fill quickly; tickets older than 2 h may be expired.
    simulation = Simulation(
        make_config(
            seed=5,
            rate_per_second=5,
            max_open_tickets=200,
            max_customers=300,
            stale_ticket_seconds=7200,
        )
    )
    events = iter(simulation)
    peak: Counter[str] = Counter()
    for _ in range(200):
        for _ in itertools.islice(events, 1_000):
            pass
        for name, size in simulation.sizes().items():
            peak[name] = max(peak[name], size)
    assert peak["open_tickets"] <= 200
    assert peak["customers"] <= 300
    assert peak["followups"] <= 200
    # one pending step per open ticket, the follow-ups, and stale entries
    # that are compacted once they outnumber live ones
    assert peak["pending"] <= 2 * (200 + 200) + 1100
    assert peak["churned_remembered"] <= 1000
    assert simulation.tickets_expired > 0


def test_memory_does_not_grow_with_events():
    simulation = Simulation(make_config(seed=9, rate_per_second=20, max_open_tickets=2_000, max_customers=2_000))
    events = iter(simulation)
    for _ in itertools.islice(events, 100_000):  # fill the pools
        pass
    assert simulation.sizes()["open_tickets"] == 2_000
    tracemalloc.start()
    try:
        for _ in itertools.islice(events, 10_000):
            pass
        after_10k, _ = tracemalloc.get_traced_memory()
        for _ in itertools.islice(events, 50_000):
            pass
        after_60k, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # A leak of even 20 bytes per event would show as 1 MB.
    assert after_60k - after_10k < 500_000


def test_expired_tickets_are_closed_in_order():
    sink, summary = generate(
        20_000, seed=2, rate_per_second=1, max_open_tickets=20, stale_ticket_seconds=3600
    )
    events = valid_events(sink.values)
    assert summary.simulation["tickets_expired"] > 0
    assert summary.simulation["tickets_not_opened"] > 0
    assert ticket_order_violations(events) == []
