"""Benchmark: the worker against its ceiling and its peers, on one broker and one topic.

Not part of `make test`. Starts its own Kafka (the project's Maven-resolved broker),
produces N small survey events into a 4-partition topic, then runs each consumer in its
own process, one after another, over the same records:

    .venv/bin/python tests/perf/bench_worker.py --events 300000
    .venv/bin/python tests/perf/bench_worker.py --events 100000 --modes raw,worker-batch

Modes: raw (aiokafka getmany + orjson.loads: the ceiling), faust-noop (a Faust agent that
does nothing), faust-table (the naive Faust tumbling windowed table), worker (our worker,
every KPI on, stock Faust agent path), worker-batch (our worker with the batch consumer).
Absolute numbers vary run to run; the ratios are what count. Results go in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from streams.stack.kafka import KafkaNode  # noqa: E402
from streams.stack.topics import TopicSpec, ensure_topics  # noqa: E402

TEAMS = ("billing", "tech", "onboarding", "returns", "enterprise", "sales", "payments", "mobile")
MODES = ("raw", "faust-noop", "faust-table", "worker", "worker-batch")


def survey_events(n: int, seed: int = 7):
    rng = random.Random(seed)
    t0 = time.time() - 600
    for i in range(n):
        yield orjson.dumps({
            "event_id": f"s{i}", "type": "survey.nps", "ts": round(t0 + i * 600 / n, 3),
            "customer_id": f"c{rng.randrange(50_000)}", "score": rng.choice((10, 9, 9, 8, 7, 6, 3, 10, 9, 0)),
            "team": rng.choice(TEAMS), "channel": rng.choice(("email", "chat", "phone")),
        })


async def produce(bootstrap: str, topic: str, n: int) -> float:
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=20, max_batch_size=512 * 1024, acks=1)
    await producer.start()
    t = time.perf_counter()
    try:
        pending = []
        for value in survey_events(n):
            pending.append(await producer.send(topic, value, key=value[14:24]))
            if len(pending) >= 5000:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return time.perf_counter() - t


def run_mode(mode: str, bootstrap: str, topics: dict[str, str], n: int, timeout: float) -> dict:
    extra = [f"{k}={v}" for k, v in topics.items() if k != "surveys"]
    cmd = [sys.executable, str(ROOT / "tests/perf/consumers.py"), mode, bootstrap, topics["surveys"], str(n), *extra]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    except subprocess.TimeoutExpired:
        return {"mode": mode, "error": f"timed out after {timeout:.0f} s"}
    # Faust's spinner may prefix the line with terminal escapes.
    lines = [line[line.index('{"mode"'):] for line in out.stdout.splitlines() if '{"mode"' in line]
    if not lines:
        return {"mode": mode, "error": (out.stderr or out.stdout)[-1500:]}
    return json.loads(lines[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=300_000)
    ap.add_argument("--modes", default=",".join(MODES))
    ap.add_argument("--bootstrap", help="use a running broker instead of starting one")
    ap.add_argument("--timeout", type=float, default=900.0, help="per mode, seconds")
    args = ap.parse_args()
    modes = [m for m in args.modes.split(",") if m]

    with tempfile.TemporaryDirectory() as tmp:
        node = None
        if args.bootstrap:
            bootstrap = args.bootstrap
        else:
            node = KafkaNode(Path(tmp) / "kafka")
            node.start()
            bootstrap = node.bootstrap_servers
        try:
            suffix = os.urandom(3).hex()
            topics = {k: f"bench-{k}-{suffix}" for k in ("tickets", "surveys", "orders", "customers", "dead_letter")}
            ensure_topics(bootstrap, [TopicSpec(name, 1 if k == "dead_letter" else 4) for k, name in topics.items()])
            secs = asyncio.run(produce(bootstrap, topics["surveys"], args.events))
            print(f"produced {args.events:,} survey events to 4 partitions in {secs:.1f} s", file=sys.stderr)
            results = {}
            for mode in modes:
                print(f"running {mode} ...", file=sys.stderr, flush=True)
                results[mode] = run_mode(mode, bootstrap, topics, args.events, args.timeout)
                print(f"  {results[mode]}", file=sys.stderr, flush=True)
        finally:
            if node is not None:
                node.stop()

    rate = {m: r["events"] / r["seconds"] for m, r in results.items() if "seconds" in r}
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print(f"workload: {args.events:,} survey.nps events (~150 B), 4 partitions, one broker on loopback\n")
    print("| consumer | events/s | vs raw aiokafka | vs Faust no-op | vs naive Faust table | peak RSS MiB |")
    print("|---|---|---|---|---|---|")
    for mode, r in results.items():
        if "error" in r:
            print(f"| {mode} | error: {r['error'].splitlines()[-1] if r['error'] else '?'} | | | | |")
            continue
        ratios = [f"{rate[mode] / rate[ref]:.2f}x" if ref in rate else "-" for ref in ("raw", "faust-noop", "faust-table")]
        print(f"| {mode} | {rate[mode]:,.0f} | {' | '.join(ratios)} | {r['peak_rss_bytes'] / 2**20:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
