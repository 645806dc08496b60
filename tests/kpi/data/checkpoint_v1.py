"""The events behind `checkpoint-v1.zlib`, a worker checkpoint written before the state
codec moved into the classes that own the state (state format version 1).

`checkpoint-v1.zlib` is what `streams/processor.py` (today `streams/worker/engines.py`) wrote at offset `OFFSET`:
`state.dumps({"offset": OFFSET, "engine": state.engine_state(engine, SPECS)})` for an
engine that had processed `prefix()`. It was made once, by `python -m
tests.kpi.data.checkpoint_v1` at the commit that added it, and must never be
regenerated: it stands for checkpoints already written by deployed workers.
`tests/kpi/test_state.py` restores it with today's code and continues it with `suffix()`
next to an engine that processed prefix() + suffix() without stopping.

The stream covers every piece of engine state: tickets open, resolved, reopened and past
their SLA target; more teams than the label cap (folded into `other`); customers with
signups and churns still within the grace (their `recent` list), evicted customers
(max_customers), event ids remembered for deduplication; two series keeping closed buckets,
the coarser one with stickiness; distinct counts both exact and past the exact limit
(HyperLogLog registers); rejected, late and duplicate events in the counters.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from kpi.config import EngineConfig, SeriesSpec
from kpi.sla import SlaPolicy

BLOB = Path(__file__).with_name("checkpoint-v1.zlib")
OFFSET = 4242
T0 = 1_795_564_800  # 2026-11-25T00:00:00Z
GRACE = 600
SPECS = (SeriesSpec(300, retain_closed=12), SeriesSpec(3600, retain_closed=24, stickiness=True))
CONFIG = EngineConfig(
    window_seconds=900,
    grace_seconds=GRACE,
    sla=SlaPolicy({"urgent": 1800, "high": 3600, "normal": 7200, "low": 14400}),
    max_label_values=3,
    ticket_retention_seconds=4 * 3600,
    max_customers=250,
)
TEAMS = ("billing", "tech", "sales", "ops")  # one more than the label cap
CHANNELS = ("chat", "email", "phone")
PRIORITIES = ("urgent", "high", "normal", "low")


def _events(seed: int, start: float, hours: int, first_id: int, ticket_base: int) -> list[dict[str, Any]]:
    """A shuffled-within-the-grace stream of every event type over `hours` from `start`."""
    rng = random.Random(seed)
    out: list[tuple[float, dict[str, Any]]] = []
    n = first_id

    def emit(ts: float, etype: str, **fields: Any) -> None:
        nonlocal n
        n += 1
        out.append((ts, {"event_id": f"v1-{n}", "type": etype, "ts": ts, **fields}))

    span = hours * 3600
    end = start + span - 1
    for i in range(ticket_base, ticket_base + 120):
        t = start + rng.randrange(span)
        tid = f"t{i}"
        emit(t, "ticket.created", ticket_id=tid, customer_id=f"c{i % 50}", team=TEAMS[i % 4],
             channel=CHANNELS[i % 3], priority=PRIORITIES[i % 4])
        if i % 3:
            t = min(end, t + rng.randrange(1, 1200))
            emit(t, "ticket.agent_replied", ticket_id=tid, agent_id="a1")
        if i % 5 == 0:
            emit(t + 5, "ticket.customer_replied", ticket_id=tid)
            emit(t + 10, "ticket.agent_replied", ticket_id=tid, agent_id="a2")
        if i % 2:
            t = min(end, t + rng.randrange(1, 9000))
            emit(t, "ticket.resolved", ticket_id=tid, agent_id="a1")
            if i % 7 == 1:
                emit(t + rng.randrange(1, 900), "ticket.reopened", ticket_id=tid)
    # Resolutions and reopens of tickets of the previous part (the suffix continues them).
    for i in range(max(0, ticket_base - 120), ticket_base, 4):
        t = start + rng.randrange(span)
        emit(t, "ticket.resolved", ticket_id=f"t{i}", agent_id="a3")
        if i % 8 == 0:
            emit(t + 30, "ticket.reopened", ticket_id=f"t{i}")
    for c in range(300):
        t = start + rng.randrange(span)
        cid = f"c{c}"
        emit(t, "customer.signed_up" if (c + seed) % 4 else "customer.churned", customer_id=cid)
        if c % 6 == 0:
            emit(min(end, t + rng.choice((1, 90, 400))), "customer.churned" if (c + seed) % 4 else "customer.signed_up", customer_id=cid)
        emit(start + rng.randrange(span), "customer.active", customer_id=cid)
        if c % 3 == 0:
            emit(start + rng.randrange(span), "feature.used", customer_id=cid, feature=("export", "reports", "alerts", "sso")[c % 4])
        if c % 4 == 0:
            emit(start + rng.randrange(span), "survey.nps", customer_id=cid, score=c % 11, team=TEAMS[c % 4])
        if c % 5 == 0:
            emit(start + rng.randrange(span), "survey.csat", customer_id=cid, score=1 + c % 5, channel=CHANNELS[c % 3])
        if c % 7 == 0:
            emit(start + rng.randrange(span), "survey.ces", customer_id=cid, score=1 + c % 7)
        if c % 2 == 0:
            t = start + rng.randrange(span)
            emit(t, "checkout.started", customer_id=cid)
            if c % 4 == 0:
                emit(t + 20, "order.placed", order_id=f"o{seed}-{c}", customer_id=cid, amount=round(5 + c * 0.37, 2), currency="USD")
    # One busy hour: more distinct active customers than the exact limit (HyperLogLog).
    busy = start + 3600 * (hours // 2)
    for c in range(2600):
        emit(busy + rng.randrange(3600), "customer.active", customer_id=f"busy{seed}-{c}")
    out.sort(key=lambda p: p[0])
    # Arrival order: each event moved by up to half the grace.
    arrived = sorted(out, key=lambda p: p[0] + rng.uniform(0, GRACE / 2))
    return [e for _, e in arrived]


def prefix() -> list[bytes]:
    """What the engine had processed when the checkpoint was written."""
    events = _events(seed=1, start=T0, hours=4, first_id=0, ticket_base=0)
    extra = [
        json.dumps(events[-3]).encode(),  # a duplicate
        json.dumps({"event_id": "v1-late", "type": "survey.nps", "ts": T0 - 86400, "customer_id": "c1", "score": 9}).encode(),
        json.dumps({"event_id": "v1-unknown", "type": "ticket.resolved", "ts": T0 + 4 * 3600, "ticket_id": "nope", "agent_id": "a"}).encode(),
        b'{"not": "an event"}',
    ]
    return [json.dumps(e).encode() for e in events] + extra


def suffix() -> list[bytes]:
    """What follows the checkpoint: continues the same tickets and customers, repeats ids."""
    before = _events(seed=1, start=T0, hours=4, first_id=0, ticket_base=0)
    events = _events(seed=2, start=T0 + 4 * 3600 - GRACE // 2, hours=3, first_id=100_000, ticket_base=120)
    repeats = [json.dumps(e).encode() for e in before[-20:]]  # ids still remembered: duplicates
    return repeats + [json.dumps(e).encode() for e in events]


def write() -> None:
    from kpi import state
    from kpi.engine import Engine

    engine = Engine(CONFIG, series=SPECS)
    for raw in prefix():
        engine.process_raw(raw)
    BLOB.write_bytes(state.dumps({"offset": OFFSET, "engine": state.engine_state(engine, SPECS)}))


if __name__ == "__main__":
    write()
