"""Routing of events to partitions: the Kafka message key of each topic."""

from __future__ import annotations

import json

from kpi.contract import Decoder
from kpi.partitions import KEY_FIELDS
from kpi.partitions import partition_of as route

from .kpi_testkit import DAY0, created, ev, nps, resolved


def partition_of(event: dict, n: int) -> int:
    typed = Decoder.typed(json.dumps(event).encode())
    assert typed is not None, event
    return route(typed, n)


def test_every_type_is_keyed_like_its_topic() -> None:
    # docs/events.md: tickets by ticket_id, surveys, orders and customers by customer_id.
    assert {t: f for t, f in KEY_FIELDS.items() if f == "ticket_id"} == {
        t: "ticket_id" for t in ("ticket.created", "ticket.agent_replied", "ticket.customer_replied",
                                 "ticket.reopened", "ticket.resolved")
    }
    assert all(f == "customer_id" for t, f in KEY_FIELDS.items() if not t.startswith("ticket."))


def test_one_entity_stays_in_one_partition() -> None:
    # A ticket's lifecycle is keyed by ticket_id, not by the customer it belongs to.
    for n in (2, 3, 7):
        tickets = {partition_of(created(f"t{i}", DAY0, customer=f"c{i}"), n) == partition_of(resolved(f"t{i}", DAY0 + 60), n)
                   for i in range(200)}
        assert tickets == {True}
        # A survey carrying a ticket_id is still the customer's.
        surveys = {partition_of(nps(9, DAY0, customer=f"c{i}", ticket_id=f"t{i}"), n)
                   == partition_of(ev("customer.active", DAY0, customer_id=f"c{i}"), n) for i in range(200)}
        assert surveys == {True}


def test_events_spread_over_the_partitions() -> None:
    counts = [0, 0, 0]
    for i in range(3000):
        counts[partition_of(ev("customer.active", DAY0, customer_id=f"cu-{i}"), 3)] += 1
    assert min(counts) > 800, counts


def test_one_partition_takes_everything() -> None:
    assert partition_of(nps(9, DAY0, customer="c9"), 1) == 0
