"""Random but valid event streams for property tests, with their true event times.

Every generated event is valid and, when replayed in an arrival order produced by
`arrival_order`, accepted: per-ticket order is kept (lifecycle events of an unknown ticket
are rejected by contract), everything else is shuffled locally by less than the grace.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

HOUR = 3600
TEAMS = ("billing", "tech", "sales")
CHANNELS = ("chat", "email", "phone")
PRIORITIES = ("urgent", "high", "normal", "low")
FEATURES = ("export", "reports", "alerts")
# Short SLA targets so that short streams see breaches.
SLA = {"urgent": 1800, "high": 3600, "normal": 7200, "low": 14400}


@dataclass(frozen=True)
class Gen:
    t: int  # true event time, whole seconds since the epoch
    event: dict[str, Any]
    ticket: str | None  # ticket id for ticket.* events (their order must be kept)


def ts_form(t: int, rng: random.Random) -> Any:
    """The same instant in one of the contract's timestamp forms, built without kpi code."""
    utc = datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(seconds=t)
    form = rng.randrange(7)
    if form == 0:
        return t
    if form == 1:
        return float(t)
    if form == 2:
        return utc.strftime("%Y-%m-%dT%H:%M:%SZ")
    if form == 3:
        return utc.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    if form == 4:
        return (utc + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S+02:00")
    if form == 5:
        return (utc - timedelta(hours=5, minutes=30)).strftime("%Y-%m-%dT%H:%M:%S-05:30")
    return utc.strftime("%Y-%m-%d %H:%M:%Sz")


def generate(rng: random.Random, start: int, hours: int, scale: int = 1) -> list[Gen]:
    ids = itertools.count()
    end = start + hours * HOUR
    out: list[Gen] = []

    def when() -> int:
        if rng.random() < 0.08:  # exactly on a window edge
            return start + rng.randrange(hours) * HOUR
        return rng.randrange(start, end)

    def emit(t: int, etype: str, ticket: str | None = None, **fields: Any) -> None:
        event = {"event_id": f"g{next(ids)}", "type": etype, "ts": ts_form(t, rng), **fields}
        out.append(Gen(t, event, ticket))

    customers = [f"c{i}" for i in range(rng.randint(2, 12) * scale)]

    # Customer lifecycles: signup, maybe churn, maybe signup again; sometimes only seconds apart.
    for c in customers:
        if rng.random() < 0.8:
            t = when()
            for kind in ("customer.signed_up", "customer.churned", "customer.signed_up", "customer.churned"):
                emit(t, kind, customer_id=c)
                if rng.random() < 0.5:
                    break
                t += rng.choice([1, rng.randint(1, 200), rng.randint(1, 3 * HOUR)])
        if rng.random() < 0.1:
            emit(when(), "customer.churned", customer_id=c)  # may precede any signup: ignored

    for _ in range(rng.randint(0, 40) * scale):
        c = rng.choice(customers)
        if rng.random() < 0.5:
            emit(when(), "customer.active", customer_id=c)
        else:
            emit(when(), "feature.used", customer_id=c, feature=rng.choice(FEATURES))

    for _ in range(rng.randint(0, 30) * scale):
        kind, low, high = rng.choice([("nps", 0, 10), ("csat", 1, 5), ("ces", 1, 7)])
        extra = {}
        if rng.random() < 0.6:
            extra["team"] = rng.choice(TEAMS)
        if rng.random() < 0.6:
            extra["channel"] = rng.choice(CHANNELS)
        if rng.random() < 0.2:
            extra["ticket_id"] = "t0"
        emit(when(), f"survey.{kind}", customer_id=rng.choice(customers), score=rng.randint(low, high), **extra)

    for _ in range(rng.randint(0, 25) * scale):
        c = rng.choice(customers)
        t = when()
        emit(t, "checkout.started", customer_id=c)
        if rng.random() < 0.6:
            cents = rng.choice([0, rng.randint(1, 99), rng.randint(100, 50_000)])
            emit(t + rng.randint(0, 900), "order.placed", order_id=f"o{next(ids)}", customer_id=c,
                 amount=cents / 100 if cents % 100 else cents // 100, currency="USD")

    for n in range(rng.randint(0, 15) * scale):
        tid = f"t{n}"
        t = when()
        emit(t, "ticket.created", tid, ticket_id=tid, customer_id=rng.choice(customers),
             team=rng.choice(TEAMS), channel=rng.choice(CHANNELS), priority=rng.choice(PRIORITIES))
        is_open = True
        for _ in range(rng.randint(0, 6)):
            t += rng.choice([1, rng.randint(1, 600), rng.randint(600, 3 * HOUR), rng.randint(1, 8 * HOUR)])
            step = rng.random()
            if is_open and step < 0.4:
                emit(t, "ticket.agent_replied", tid, ticket_id=tid, agent_id=rng.choice(["a1", "a2"]))
            elif is_open and step < 0.55:
                emit(t, "ticket.customer_replied", tid, ticket_id=tid)
            elif is_open and step < 0.6:
                emit(t, "ticket.reopened", tid, ticket_id=tid)  # a redundant reopen of an open ticket
            elif is_open:
                emit(t, "ticket.resolved", tid, ticket_id=tid, agent_id="a1")
                is_open = False
            else:
                emit(t, "ticket.reopened", tid, ticket_id=tid)
                is_open = True
    return out


def with_duplicates(rng: random.Random, gens: list[Gen], share: float = 0.05) -> list[Gen]:
    """Add exact re-deliveries of some events (same event_id and body)."""
    return gens + [g for g in gens if rng.random() < share]


def arrival_order(rng: random.Random, gens: list[Gen], jitter_seconds: float) -> list[Gen]:
    """Shuffle locally: sort by t + U(0, jitter), then put each ticket's events back in time order.

    Every event then arrives after only events with t <= its own t + jitter, so nothing is
    late as long as jitter < grace.
    """
    keyed = sorted(((g.t + rng.uniform(0, jitter_seconds), i, g) for i, g in enumerate(gens)), key=lambda x: x[:2])
    order = [g for _, _, g in keyed]
    slots: dict[str, list[int]] = {}
    for pos, g in enumerate(order):
        if g.ticket is not None:
            slots.setdefault(g.ticket, []).append(pos)
    for ticket, positions in slots.items():
        in_time = sorted((order[p] for p in positions), key=lambda g: (g.t, int(g.event["event_id"][1:])))
        for p, g in zip(positions, in_time):
            order[p] = g
    return order


def unique(gens: list[Gen]) -> list[tuple[float, dict[str, Any]]]:
    """(t, event) once per event id: what the engine should count."""
    seen: dict[str, tuple[float, dict[str, Any]]] = {}
    for g in gens:
        seen.setdefault(g.event["event_id"], (g.t, g.event))
    return list(seen.values())
