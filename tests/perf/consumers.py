"""Consumers measured by bench_worker.py, one per process: `python consumers.py MODE BOOTSTRAP TOPIC N`.

Each prints one JSON line: events, seconds from the first to the last record, peak RSS.
The clock starts at the first record, so start-up and group joins are not counted.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import sys
import time

MODE, BOOTSTRAP, TOPIC, N = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
EXTRA = dict(arg.split("=", 1) for arg in sys.argv[5:])  # e.g. tickets=... for the worker modes
state = {"n": 0, "t0": None}


def done() -> None:
    elapsed = time.perf_counter() - state["t0"]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"mode": MODE, "events": state["n"], "seconds": elapsed, "peak_rss_bytes": peak}), flush=True)
    os._exit(0)


def tick(k: int = 1) -> None:
    if state["t0"] is None:
        state["t0"] = time.perf_counter()
    state["n"] += k
    if state["n"] >= N:
        done()


async def raw() -> None:
    import orjson
    from aiokafka import AIOKafkaConsumer

    consumer = AIOKafkaConsumer(TOPIC, bootstrap_servers=BOOTSTRAP, group_id=None, auto_offset_reset="earliest",
                                enable_auto_commit=False, max_partition_fetch_bytes=4 * 1024 * 1024)
    await consumer.start()
    loads = orjson.loads
    while True:
        batch = await consumer.getmany(timeout_ms=1000, max_records=10_000)
        for records in batch.values():
            for r in records:
                loads(r.value)
            tick(len(records)) if records else None


def faust_app(name: str):
    import faust

    return faust.App(f"bench-{name}-{os.getpid()}", broker=f"kafka://{BOOTSTRAP}", value_serializer="raw",
                     web_enabled=False, topic_disable_leader=True, consumer_auto_offset_reset="earliest",
                     store="memory://", logging_config=None, datadir=f"/tmp/bench-faust-{os.getpid()}")


def faust_noop() -> None:
    app = faust_app("noop")
    topic = app.topic(TOPIC, value_serializer="raw")

    @app.agent(topic)
    async def consume(stream):
        async for _ in stream:
            tick()

    run_faust(app)


def faust_table() -> None:
    """The naive way: a Faust tumbling windowed table of NPS counters per team, one write per event."""
    import orjson

    app = faust_app("table")
    topic = app.topic(TOPIC, value_serializer="raw")
    table = app.Table("nps", default=lambda: [0, 0, 0], partitions=4).tumbling(60, expires=3600)

    @app.agent(topic)
    async def consume(stream):
        async for value in stream:
            event = orjson.loads(value)
            team = event.get("team", "none")
            counts = list(table[team].value())
            counts[0] += 1
            score = event["score"]
            counts[1] += score >= 9
            counts[2] += score <= 6
            table[team] = counts
            tick()

    run_faust(app)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def worker(batch: bool) -> None:
    from streams.app import create_app
    from streams.settings import Settings

    os.environ.update({
        "KPI_KAFKA__BOOTSTRAP_SERVERS": BOOTSTRAP, "KPI_TOPICS__SURVEYS": TOPIC, "KPI_WEB__PORT": str(_free_port()),
        "KPI_APP_ID": f"bench-worker-{os.getpid()}", "KPI_DATA_DIR": f"/tmp/bench-worker-{os.getpid()}",
        "KPI_CONSUMER_BATCHING": "true" if batch else "false",
        **{f"KPI_TOPICS__{k.upper()}": v for k, v in EXTRA.items()},
    })
    app, processor = create_app(Settings())
    handle = processor.handle

    def counted(topic, partition, offset, value):
        out = handle(topic, partition, offset, value)
        tick()
        return out

    processor.handle = counted
    run_faust(app)


def run_faust(app) -> None:
    import faust

    worker = faust.Worker(app, loglevel="warning", quiet=True, redirect_stdouts=False)
    worker.execute_from_commandline()


if __name__ == "__main__":
    if MODE == "raw":
        asyncio.run(raw())
    elif MODE == "faust-noop":
        faust_noop()
    elif MODE == "faust-table":
        faust_table()
    elif MODE == "worker":
        worker(batch=False)
    elif MODE == "worker-batch":
        worker(batch=True)
    else:
        raise SystemExit(f"unknown mode {MODE}")
