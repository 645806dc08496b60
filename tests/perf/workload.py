"""The benchmark's Kafka workload: small survey.nps events (event contract v1, ~170 B).

Every Kafka consumer in the benchmark reads the same records from one 4-partition topic.
They are keyed by customer, as a real survey stream would be (the generator keys surveys by
ticket or customer), so a consumer that aggregates per team must re-key (Quix `group_by`)
or keep its own per-team state (the worker).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Iterator
from pathlib import Path

import orjson

TEAMS = ("billing", "tech", "onboarding", "returns", "enterprise", "sales", "payments", "mobile")
SCORES = (10, 9, 9, 8, 7, 6, 3, 10, 9, 0)
CHANNELS = ("email", "chat", "phone")


def survey(i: int, ts: float, rng: random.Random, prefix: str = "s") -> tuple[bytes, bytes]:
    """(key, value) of one survey.nps event with event time `ts` (epoch seconds)."""
    customer = f"c{rng.randrange(50_000)}"
    # The copy is exact-size: orjson's output keeps a ~4 KiB allocation behind each small
    # bytes object, which would make 300k held records cost 1.2 GB instead of 75 MB.
    value = bytes(memoryview(orjson.dumps({
        "event_id": f"{prefix}{i}",
        "type": "survey.nps",
        "ts": round(ts, 3),
        "customer_id": customer,
        "score": rng.choice(SCORES),
        "team": rng.choice(TEAMS),
        "channel": rng.choice(CHANNELS),
    })))
    return customer.encode(), value


def backlog(n: int, span_seconds: float = 240.0, seed: int = 7) -> Iterator[tuple[bytes, bytes]]:
    """n events spread evenly over the `span_seconds` before now, in event-time order.

    The span is shorter than the 5-minute grace of the worker and the Quix windows, so no
    interleaving of partitions can make a record late: every consumer counts all N.
    """
    rng = random.Random(seed)
    t0 = time.time() - span_seconds
    for i in range(n):
        yield survey(i, t0 + i * span_seconds / n, rng)


def write_jsonl(path: Path, records: list[tuple[bytes, bytes]]) -> None:
    with path.open("wb") as f:
        for _, value in records:
            f.write(value + b"\n")


async def produce(bootstrap: str, topic: str, records: list[tuple[bytes, bytes]]) -> float:
    """Send every record (acks=1), wait for all acknowledgements; returns the seconds it took."""
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=20, max_batch_size=512 * 1024, acks=1)
    await producer.start()
    t = time.perf_counter()
    try:
        pending = []
        for key, value in records:
            pending.append(await producer.send(topic, value, key=key))
            if len(pending) >= 5000:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return time.perf_counter() - t
