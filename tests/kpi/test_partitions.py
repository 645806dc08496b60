"""Routing of events to partitions: the Kafka message key of each topic."""

from __future__ import annotations

from kpi.partitions import KEY_FIELDS, partition_of

from .kpi_testkit import DAY0, created, ev, nps, resolved


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


def test_anything_without_a_usable_key_goes_to_partition_0() -> None:
    for obj in (None, [1], "x", {}, {"type": "nope", "customer_id": "c1"}, {"type": "survey.nps"},
                {"type": "survey.nps", "customer_id": 5}, {"type": ["ticket.created"], "ticket_id": "t1"}):
        assert partition_of(obj, 5) == 0


def test_one_partition_takes_everything() -> None:
    assert partition_of(nps(9, DAY0, customer="c9"), 1) == 0
