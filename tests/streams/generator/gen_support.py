"""Helpers shared by the generator tests: run the generator in memory."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any, Iterable

from streams.generator import FaultConfig, GeneratorConfig, RunLimits, RunSummary, TopicNames, run
from streams.generator.timefmt import parse_rfc3339_seconds

from .event_contract_checker import check_line, parse_ts_seconds

START = "2024-05-01T00:00:00Z"
START_SECONDS = parse_rfc3339_seconds(START)


class ListSink:
    """In-memory sink: the seam the runner writes through."""

    description = "memory"

    def __init__(self) -> None:
        self.records: list[tuple[str, bytes | None, bytes]] = []
        self.closed = False

    async def send(self, topic: str, key: bytes | None, value: bytes) -> None:
        self.records.append((topic, key, value))

    async def close(self) -> None:
        self.closed = True

    @property
    def values(self) -> list[bytes]:
        return [value for _, _, value in self.records]


def make_config(seed: int = 7, **overrides: Any) -> GeneratorConfig:
    faults = overrides.pop("faults", None) or FaultConfig()
    return GeneratorConfig(seed=seed, start_seconds=START_SECONDS, faults=faults, **overrides)


def generate(
    count: int = 20_000,
    *,
    seed: int = 7,
    topic_names: TopicNames | None = None,
    **config: Any,
) -> tuple[ListSink, RunSummary]:
    sink = ListSink()
    summary = asyncio.run(
        run(make_config(seed, **config), RunLimits(count=count), sink, topic_names=topic_names)
    )
    return sink, summary


def valid_events(values: Iterable[bytes]) -> list[dict[str, Any]]:
    """Decoded valid events, in arrival order; asserts nothing."""
    events = []
    for value in values:
        event, errors = check_line(value)
        if not errors:
            events.append(event)
    return events


def first_occurrences(events: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Drop duplicates (same event_id), as a consumer would."""
    seen: set[str] = set()
    kept = []
    for event in events:
        if event["event_id"] not in seen:
            seen.add(event["event_id"])
            kept.append(event)
    return kept


def ticket_order_violations(events: Iterable[dict[str, Any]]) -> list[str]:
    """Each ticket: created first, non-decreasing ts, reopen only after a resolve."""
    by_ticket: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for event in events:
        if event["type"].startswith("ticket."):
            by_ticket[event["ticket_id"]].append(event)
    problems = []
    for ticket_id, ticket_events in by_ticket.items():
        types = [e["type"] for e in ticket_events]
        if types[0] != "ticket.created" or types.count("ticket.created") != 1:
            problems.append(f"{ticket_id}: {types}")
            continue
        times = [parse_ts_seconds(e["ts"]) for e in ticket_events]
        if any(b < a for a, b in zip(times, times[1:])):
            problems.append(f"{ticket_id}: ts goes back {times}")
        resolved = False
        for event_type in types[1:]:
            if event_type == "ticket.resolved":
                resolved = True
            elif event_type == "ticket.reopened":
                if not resolved:
                    problems.append(f"{ticket_id}: reopened before resolved {types}")
                resolved = False
    return problems


def customer_order_violations(events: Iterable[dict[str, Any]]) -> list[str]:
    """Each customer: signed up before anything else of theirs; churned
    customers are not active (nor use features) until they sign up again."""
    live: dict[str, bool] = {}
    problems = []
    for event in events:
        event_type = event["type"]
        customer_id = event.get("customer_id")
        if customer_id is None:
            continue
        if event_type == "customer.signed_up":
            if live.get(customer_id):
                problems.append(f"{customer_id}: signed up while live")
            live[customer_id] = True
        elif customer_id not in live:
            problems.append(f"{customer_id}: {event_type} before signing up")
        elif event_type == "customer.churned":
            if not live[customer_id]:
                problems.append(f"{customer_id}: churned twice")
            live[customer_id] = False
        elif event_type in ("customer.active", "feature.used") and not live[customer_id]:
            problems.append(f"{customer_id}: {event_type} after churning")
    return problems
