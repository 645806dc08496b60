"""Hand-written event builders and a small replay harness for the kpi tests.

Nothing here computes an expected KPI value: tests spell those out by hand (or get them
from the naive reference in `kpi_reference.py`).
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from typing import Any

from kpi.config import EngineConfig
from kpi.contract import Rejected
from kpi.replay import replay

DAY0 = 1_795_564_800  # 2026-11-25T00:00:00Z; a multiple of one day
MINUTE = 60
HOUR = 3600
DAY = 86_400

_ids = itertools.count(1)


def ev(etype: str, ts: Any, *, event_id: str | None = None, **fields: Any) -> dict[str, Any]:
    """One contract-v1 event as a dict. `ts` is used as given (number or string)."""
    return {"event_id": event_id or f"e{next(_ids)}", "type": etype, "ts": ts, **fields}


# --- tickets ----------------------------------------------------------------------------------
def created(tid: str, ts: Any, *, team: str = "billing", channel: str = "email", priority: str = "normal",
            customer: str = "c1", **kw: Any) -> dict[str, Any]:
    return ev("ticket.created", ts, ticket_id=tid, customer_id=customer, team=team, channel=channel,
              priority=priority, **kw)


def replied(tid: str, ts: Any, agent: str = "a1", **kw: Any) -> dict[str, Any]:
    return ev("ticket.agent_replied", ts, ticket_id=tid, agent_id=agent, **kw)


def customer_replied(tid: str, ts: Any, **kw: Any) -> dict[str, Any]:
    return ev("ticket.customer_replied", ts, ticket_id=tid, **kw)


def reopened(tid: str, ts: Any, **kw: Any) -> dict[str, Any]:
    return ev("ticket.reopened", ts, ticket_id=tid, **kw)


def resolved(tid: str, ts: Any, agent: str = "a1", **kw: Any) -> dict[str, Any]:
    return ev("ticket.resolved", ts, ticket_id=tid, agent_id=agent, **kw)


# --- surveys ----------------------------------------------------------------------------------
def survey(kind: str, score: Any, ts: Any, customer: str = "c1", **kw: Any) -> dict[str, Any]:
    return ev(f"survey.{kind}", ts, customer_id=customer, score=score, **kw)


def nps(score: Any, ts: Any, **kw: Any) -> dict[str, Any]:
    return survey("nps", score, ts, **kw)


def csat(score: Any, ts: Any, **kw: Any) -> dict[str, Any]:
    return survey("csat", score, ts, **kw)


def ces(score: Any, ts: Any, **kw: Any) -> dict[str, Any]:
    return survey("ces", score, ts, **kw)


# --- orders -----------------------------------------------------------------------------------
def checkout(customer: str, ts: Any, **kw: Any) -> dict[str, Any]:
    return ev("checkout.started", ts, customer_id=customer, **kw)


def order(oid: str, customer: str, amount: Any, ts: Any, currency: str = "USD", **kw: Any) -> dict[str, Any]:
    return ev("order.placed", ts, order_id=oid, customer_id=customer, amount=amount, currency=currency, **kw)


# --- customers --------------------------------------------------------------------------------
def signed_up(customer: str, ts: Any, **kw: Any) -> dict[str, Any]:
    return ev("customer.signed_up", ts, customer_id=customer, **kw)


def churned(customer: str, ts: Any, **kw: Any) -> dict[str, Any]:
    return ev("customer.churned", ts, customer_id=customer, **kw)


def active(customer: str, ts: Any, **kw: Any) -> dict[str, Any]:
    return ev("customer.active", ts, customer_id=customer, **kw)


def used(customer: str, feature: str, ts: Any, **kw: Any) -> dict[str, Any]:
    return ev("feature.used", ts, customer_id=customer, feature=feature, **kw)


# --- encoding and running ---------------------------------------------------------------------
def line(event: dict[str, Any]) -> bytes:
    return json.dumps(event).encode()


def lines(events: list[dict[str, Any]]) -> list[bytes]:
    return [line(e) for e in events]


def by_ts(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Events in time order (stable); only for numeric `ts`."""
    return sorted(events, key=lambda e: e["ts"])


LabelSet = tuple[tuple[str, str], ...]


@dataclass
class Result:
    rows: list[tuple[str, int, int, LabelSet, Any]]
    rejects: list[Rejected]
    stats: Any
    window_seconds: int
    table: dict[tuple[str, int, LabelSet], Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for kpi, start, _end, labels, value in self.rows:
            key = (kpi, start, labels)
            assert key not in self.table, f"duplicate row {key}"
            self.table[key] = value

    def value(self, kpi: str, window: int = 0, **labels: str) -> Any:
        """The value of `kpi` in window number `window` counted from DAY0."""
        start = DAY0 + window * self.window_seconds
        return self.table[(kpi, start, tuple(sorted(labels.items())))]

    def has(self, kpi: str, window: int = 0, **labels: str) -> bool:
        start = DAY0 + window * self.window_seconds
        return (kpi, start, tuple(sorted(labels.items()))) in self.table

    def windows(self) -> list[int]:
        """Reported window numbers, counted from DAY0."""
        return sorted({(start - DAY0) // self.window_seconds for _, start, _, _, _ in self.rows})

    def label_sets(self, kpi: str, window: int = 0) -> set[LabelSet]:
        start = DAY0 + window * self.window_seconds
        return {labels for k, s, _, labels, _ in self.rows if k == kpi and s == start}

    def reasons(self) -> list[str]:
        return [r.reason for r in self.rejects]


def run_lines(raw_lines: list[bytes], **config: Any) -> Result:
    cfg = EngineConfig(**config)
    rejects: list[Rejected] = []
    rows_iter, engine = replay(raw_lines, cfg, rejects.append)
    rows = [(r.kpi, r.window_start_seconds, r.window_end_seconds, tuple(sorted(r.labels.items())), r.value)
            for r in rows_iter]
    return Result(rows, rejects, engine.stats, cfg.window_seconds)


def run(events: list[dict[str, Any]], **config: Any) -> Result:
    """Replay `events` in the given arrival order."""
    return run_lines(lines(events), **config)
