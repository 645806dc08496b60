"""What `bench.py` measures, one mode per process: `python consumers.py MODE [options]`.

Each mode prints one JSON line on stdout:
    {"mode": ..., "events": N, "seconds": S, "peak_rss_bytes": B, ...}
`seconds` runs from the first record to the last one counted, so interpreter start-up,
Kafka group joins and Faust/Quix boot are not counted. `peak_rss_bytes` is this process's
peak resident set (getrusage), so every mode gets its own.

File modes (the engine next to its ceiling):
    parse FILE              bare `orjson.loads` over every non-blank line
    replay FILE WINDOW      `kpi.replay` over the same lines (every KPI, tumbling WINDOW)

Kafka modes (one topic, read from the earliest offset by a fresh consumer group):
    raw           aiokafka getmany + orjson.loads: the ceiling
    faust-noop    a Faust agent that does nothing
    faust-table   the naive Faust way: per-event agent writing an NPS-per-team tumbling table
    worker        our worker (every KPI), stock Faust agent path (KPI_CONSUMER_BATCHING=false)
    worker-batch  our worker with the batch consumer (streams/worker/batching.py, the default)
    quix-noop     Quix Streams, JSON-deserialise and count
    quix-nps      Quix Streams, NPS per team over 1-minute tumbling event-time windows
                  (group_by team, custom aggregator, RocksDB state, changelog on: the defaults)

The quix modes import only quixstreams and orjson, so they can run under another
interpreter (a venv with the `bench` extra) than the one running the harness.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import threading
import time
from pathlib import Path

FILE_MODES = ("parse", "replay")
KAFKA_MODES = ("raw", "faust-noop", "faust-table", "worker", "worker-batch", "quix-noop", "quix-nps")

_state = {"n": 0, "t0": None, "t_last": None, "input": 0}
_args: argparse.Namespace
# Set by a mode to add its own counts (accepted, rejected, ...) to the report.
_extra_report = None


def _peak_rss_bytes() -> int:
    """Peak RSS of this program: VmHWM, which exec resets.

    getrusage's ru_maxrss survives fork+exec on Linux, so it would report the harness's
    own peak for a child that stayed smaller.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def report(**extra: object) -> None:
    t0, t_last = _state["t0"], _state["t_last"]
    seconds = (t_last - t0) if t0 is not None and t_last is not None else 0.0
    line = {"mode": _args.mode, "events": _state["n"], "seconds": seconds, "peak_rss_bytes": _peak_rss_bytes(), **extra}
    if _extra_report is not None:
        line.update(_extra_report())
    sys.stdout.write(json.dumps(line) + "\n")
    sys.stdout.flush()


def done(**extra: object) -> None:
    report(**extra)
    os._exit(0)


def tick(k: int = 1) -> None:
    now = time.perf_counter()
    if _state["t0"] is None:
        _state["t0"] = now
    _state["n"] += k
    _state["t_last"] = now
    if _state["n"] >= _args.events:
        done()


def seen() -> None:
    """An input record entered the pipeline (counted at its end by `tick`)."""
    if _state["t0"] is None:
        _state["t0"] = time.perf_counter()
    _state["input"] += 1


def watchdog(idle_seconds: float) -> None:
    """Give up when records stop coming (e.g. some were dropped), reporting what was counted."""

    def run() -> None:
        last, since = -1, time.monotonic()
        while True:
            time.sleep(0.5)
            n = _state["n"]
            if n != last:
                last, since = n, time.monotonic()
            elif _state["t0"] is not None and time.monotonic() - since > idle_seconds:
                done(incomplete=True)

    threading.Thread(target=run, daemon=True, name="bench-watchdog").start()


# -- file modes ---------------------------------------------------------------------------


def parse_file() -> None:
    import orjson

    loads = orjson.loads
    n = 0
    t = time.perf_counter()
    with open(_args.file, "rb") as f:
        for line in f:
            if line.strip():
                loads(line)
                n += 1
    _state.update(n=n, t0=t, t_last=time.perf_counter())
    report()


def replay_file() -> None:
    from kpi.config import EngineConfig
    from kpi.replay import replay
    from kpi.windows import parse_duration_seconds

    def lines():
        with open(_args.file, "rb") as f:
            yield from f

    config = EngineConfig(window_seconds=parse_duration_seconds(_args.window))
    t = time.perf_counter()
    if _args.jobs == 1:
        rows, totals = replay(lines(), config)
    else:
        from streams.replay_jobs import replay_parallel

        rows, totals = replay_parallel(_args.file, config, _args.jobs)
    n_rows = sum(1 for _ in rows)
    _state.update(n=totals.stats.read, t0=t, t_last=time.perf_counter())
    # With --jobs, the largest process is one of the children.
    children_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    report(rows=n_rows, accepted=totals.stats.accepted, jobs=_args.jobs, children_peak_rss_bytes=children_peak)


# -- Kafka modes --------------------------------------------------------------------------


async def raw() -> None:
    import orjson
    from aiokafka import AIOKafkaConsumer

    consumer = AIOKafkaConsumer(
        _args.topic,
        bootstrap_servers=_args.bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        max_partition_fetch_bytes=4 * 1024 * 1024,
    )
    await consumer.start()
    loads = orjson.loads
    while True:
        batch = await consumer.getmany(timeout_ms=1000, max_records=10_000)
        for records in batch.values():
            for r in records:
                loads(r.value)
            if records:
                tick(len(records))


def faust_app(name: str):
    import faust

    return faust.App(
        f"bench-{name}-{os.getpid()}",
        broker=f"kafka://{_args.bootstrap}",
        value_serializer="raw",
        web_enabled=False,
        topic_disable_leader=True,
        consumer_auto_offset_reset="earliest",
        store="memory://",
        logging_config=None,
        datadir=f"{_args.scratch}/faust-{os.getpid()}",
    )


def faust_noop() -> None:
    app = faust_app("noop")
    topic = app.topic(_args.topic, value_serializer="raw")

    @app.agent(topic)
    async def consume(stream):
        async for _ in stream:
            tick()

    run_faust(app)


def faust_table() -> None:
    """The naive way: a Faust tumbling windowed table of NPS counters per team, one write per event."""
    import orjson

    app = faust_app("table")
    topic = app.topic(_args.topic, value_serializer="raw")
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
    os.environ.update({
        "KPI_KAFKA__BOOTSTRAP_SERVERS": _args.bootstrap,
        "KPI_TOPICS__SURVEYS": _args.topic,
        "KPI_WEB__PORT": str(_free_port()),
        "KPI_APP_ID": f"bench-worker-{os.getpid()}",
        "KPI_DATA_DIR": f"{_args.scratch}/worker-{os.getpid()}",
        "KPI_CONSUMER_BATCHING": "true" if batch else "false",
        **{f"KPI_TOPICS__{k.upper()}": v for k, v in _args.other_topics.items()},
    })
    import asyncio

    from streams.settings import Settings
    from streams.worker.app import create_app
    from streams.worker.topics import ensure_internal_topics

    asyncio.run(ensure_internal_topics(Settings()))
    worker_app = create_app(Settings())
    app, processor = worker_app.app, worker_app.engines
    handle, handle_batch = processor.handle, processor.handle_batch

    def counted(topic, partition, offset, value):
        out = handle(topic, partition, offset, value)
        tick()
        return out

    def counted_batch(topic, partition, records):
        out = handle_batch(topic, partition, records)
        tick(len(records))
        return out

    # The stock agent path calls handle() per record, the batch path the hooks' handle_batch().
    if batch:
        worker_app.hooks.handle_batch = counted_batch
    else:
        processor.handle = counted

    def outcomes() -> dict:
        return {"accepted": sum(e.stats.accepted for e in processor.engines.values()), "rejected": dict(processor.rejected)}

    global _extra_report
    _extra_report = outcomes
    run_faust(app)


def run_faust(app) -> None:
    import faust

    faust.Worker(app, loglevel="warning", quiet=True, redirect_stdouts=False).execute_from_commandline()


def _quix_app(name: str):
    import logging

    from quixstreams import Application

    logging.getLogger("quixstreams").setLevel(logging.WARNING)
    return Application(
        broker_address=_args.bootstrap,
        consumer_group=f"bench-quix-{name}-{os.getpid()}",
        auto_offset_reset="earliest",
        state_dir=f"{_args.scratch}/quix-{os.getpid()}",
        loglevel="WARNING",
        auto_create_topics=True,
    )


def _event_time_ms(value, headers, timestamp, timestamp_type) -> int:
    return int(value["ts"] * 1000)


def quix_noop() -> None:
    app = _quix_app("noop")
    topic = app.topic(_args.topic, value_deserializer="json")
    sdf = app.dataframe(topic)
    sdf = sdf.update(lambda value: tick())
    app.run()


def quix_nps() -> None:
    """NPS per team over 1-minute tumbling event-time windows, the idiomatic Quix way.

    Records are keyed by customer, so `group_by("team")` re-keys them through a repartition
    topic (that is how Quix aggregates by a field that is not the key). The grace matches
    the worker's default (5m), so records a partition fetch puts out of order are kept.
    """
    from datetime import timedelta

    from quixstreams.dataframe.windows import Aggregator

    class Nps(Aggregator):
        """(responses, promoters, detractors) -> NPS in -100..100."""

        def initialize(self):
            return (0, 0, 0)

        def agg(self, old, new, timestamp):
            tick()  # once per event that reaches a window: the end of this pipeline's per-event work
            score = new["score"]
            return (old[0] + 1, old[1] + (score >= 9), old[2] + (score <= 6))

        def result(self, value):
            n, promoters, detractors = value
            return 100.0 * (promoters - detractors) / n if n else None

    app = _quix_app("nps")
    topic = app.topic(_args.topic, value_deserializer="json", timestamp_extractor=_event_time_ms)
    sdf = app.dataframe(topic)
    sdf = sdf.update(lambda value: seen())
    sdf = sdf.filter(lambda value: value.get("type") == "survey.nps")
    sdf = sdf.group_by("team")
    sdf = sdf.tumbling_window(duration_ms=timedelta(minutes=1), grace_ms=timedelta(minutes=5)).agg(nps=Nps()).final()
    global _extra_report
    _extra_report = lambda: {"input": _state["input"]}  # noqa: E731
    app.run()


def main(argv: list[str] | None = None) -> int:
    global _args
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mode", choices=FILE_MODES + KAFKA_MODES)
    ap.add_argument("--file", help="JSONL file (parse, replay)")
    ap.add_argument("--window", default="1h", help="replay window (default 1h)")
    ap.add_argument("--jobs", type=int, default=1, help="replay processes (streams.replay_jobs when > 1)")
    ap.add_argument("--bootstrap", help="Kafka bootstrap servers (Kafka modes)")
    ap.add_argument("--topic", help="the topic to read (Kafka modes)")
    ap.add_argument("--events", type=int, default=0, help="stop after counting this many records")
    ap.add_argument("--other-topics", type=json.loads, default={}, help='worker modes: {"tickets": NAME, ...}')
    ap.add_argument("--scratch", default="/tmp", help="where Faust/Quix/worker keep their data dirs")
    ap.add_argument("--idle-timeout", type=float, default=30.0, help="report and exit after this long without records")
    _args = ap.parse_args(argv)
    Path(_args.scratch).mkdir(parents=True, exist_ok=True)

    if _args.mode == "parse":
        parse_file()
        return 0
    if _args.mode == "replay":
        replay_file()
        return 0
    watchdog(_args.idle_timeout)
    if _args.mode == "raw":
        import asyncio

        asyncio.run(raw())
    elif _args.mode == "faust-noop":
        faust_noop()
    elif _args.mode == "faust-table":
        faust_table()
    elif _args.mode in ("worker", "worker-batch"):
        worker(batch=_args.mode == "worker-batch")
    elif _args.mode == "quix-noop":
        quix_noop()
    elif _args.mode == "quix-nps":
        quix_nps()
    return 0


if __name__ == "__main__":
    sys.exit(main())
