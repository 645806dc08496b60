"""Checkpoint codec timing: encode and restore a largish worker engine (not part of `make test`).

    .venv/bin/python tests/perf/state_codec.py                 # 100k tickets, best of 5
    .venv/bin/python tests/perf/state_codec.py --tickets 20000 --repeat 9

Builds one engine with the worker's default series (5m, 1h, 24h trailing windows) from a
deterministic stream: tickets created, replied to, resolved and reopened; customers signing
up, churning, active and using features; surveys and orders. Then times, best of --repeat,
what `streams/worker/engines.py` does at a checkpoint (`state.dumps(engine_state(...))`) and at a
restore (`restore_engine(state.loads(blob))`), and prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from kpi import state  # noqa: E402
from kpi.config import EngineConfig, SeriesSpec  # noqa: E402
from kpi.engine import Engine  # noqa: E402

# streams.settings.Settings().series_specs() with the default trailing windows 5m, 1h, 24h.
SPECS = (SeriesSpec(15, 20), SeriesSpec(120, 30), SeriesSpec(3600, 24, stickiness=True))
START = 1_714_521_600  # 2024-05-01T00:00:00Z


def events(tickets: int, seed: int = 7) -> list[bytes]:
    rng = random.Random(seed)
    span = 6 * 3600
    customers = max(100, tickets // 5)
    out: list[tuple[float, dict]] = []
    n = 0

    def emit(ts: float, etype: str, **fields: object) -> None:
        nonlocal n
        n += 1
        out.append((ts, {"event_id": f"e{n}", "type": etype, "ts": ts, **fields}))

    for i in range(tickets):
        t = START + rng.random() * span
        tid = f"t{i}"
        emit(t, "ticket.created", ticket_id=tid, customer_id=f"c{rng.randrange(customers)}",
             team=rng.choice(("billing", "tech", "sales", "ops")), channel=rng.choice(("chat", "email", "phone")),
             priority=rng.choice(("urgent", "high", "normal", "low")))
        if rng.random() < 0.7:
            t += rng.random() * 1800
            emit(t, "ticket.agent_replied", ticket_id=tid, agent_id="a1")
        if rng.random() < 0.6:
            t += rng.random() * 3600
            emit(t, "ticket.resolved", ticket_id=tid, agent_id="a1")
            if rng.random() < 0.1:
                emit(t + 60, "ticket.reopened", ticket_id=tid)
    for c in range(customers):
        t = START + rng.random() * span
        emit(t, "customer.signed_up", customer_id=f"c{c}")
        emit(t + rng.random() * 3600, "customer.active", customer_id=f"c{c}")
        emit(t + rng.random() * 3600, "feature.used", customer_id=f"c{c}", feature=rng.choice(("export", "reports")))
        if rng.random() < 0.05:
            emit(t + rng.random() * span, "customer.churned", customer_id=f"c{c}")
        if rng.random() < 0.3:
            emit(t + rng.random() * 600, "survey.nps", customer_id=f"c{c}", score=rng.randrange(11), team="tech")
        if rng.random() < 0.2:
            emit(t + rng.random() * 600, "checkout.started", customer_id=f"c{c}")
            emit(t + rng.random() * 600 + 1, "order.placed", order_id=f"o{c}", customer_id=f"c{c}", amount=12.5, currency="USD")
    out.sort(key=lambda p: p[0])
    return [json.dumps(e).encode() for _, e in out]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    config = EngineConfig(window_seconds=900, grace_seconds=300)
    engine = Engine(config, series=SPECS)
    for line in events(args.tickets):
        engine.process_raw(line)
    encode, decode = [], []
    blob = b""
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        blob = state.dumps({"offset": 1, "engine": state.engine_state(engine, SPECS)})
        t1 = time.perf_counter()
        restored = state.restore_engine(state.loads(blob)["engine"], config, SPECS)
        t2 = time.perf_counter()
        encode.append(t1 - t0)
        decode.append(t2 - t1)
    assert restored.tracked_tickets == engine.tracked_tickets
    import kpi.engine

    print(json.dumps({
        "kpi_build": "mypyc-compiled" if kpi.engine.__file__.endswith(".so") else "pure Python",
        "tickets": engine.tracked_tickets,
        "customers": engine.tracked_customers,
        "blob_bytes": len(blob),
        "encode_ms_best": round(min(encode) * 1000, 1),
        "encode_ms_median": round(sorted(encode)[len(encode) // 2] * 1000, 1),
        "restore_ms_best": round(min(decode) * 1000, 1),
        "restore_ms_median": round(sorted(decode)[len(decode) // 2] * 1000, 1),
    }))


if __name__ == "__main__":
    main()
