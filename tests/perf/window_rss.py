"""Does replay memory grow with the number of windows? RSS while windows keep closing.

Replays a synthetic stream whose entity state cannot grow (survey events from a fixed pool
of customers, so only windows accumulate if anything does) over many hours of event time,
and prints RSS every `--every` events. Old windows close and are emitted; if their state
were kept, RSS would climb with the window count.

    .venv/bin/python tests/perf/window_rss.py --hours 96 --window 1m

Not part of `make test` (it measures, it does not assert).
"""

from __future__ import annotations

import argparse
import random
from collections.abc import Iterator

import orjson
import psutil

from kpi.config import EngineConfig
from kpi.replay import replay
from kpi.windows import parse_duration_seconds


def events(hours: int, per_second: float, seed: int) -> Iterator[bytes]:
    rng = random.Random(seed)
    start = 1_767_225_600  # 2026-01-01T00:00:00Z
    step = 1 / per_second
    n = int(hours * 3600 * per_second)
    for i in range(n):
        kind = ("survey.nps", "survey.csat", "survey.ces")[i % 3]
        high = {"survey.nps": 10, "survey.csat": 5, "survey.ces": 7}[kind]
        yield orjson.dumps({
            "event_id": f"e{i}", "type": kind, "ts": start + i * step, "customer_id": f"c{rng.randrange(5000)}",
            "score": rng.randint(0 if kind == "survey.nps" else 1, high), "team": f"t{rng.randrange(20)}",
        })


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hours", type=int, default=96)
    ap.add_argument("--per-second", type=float, default=5.0, help="events per second of event time")
    ap.add_argument("--window", default="1m")
    ap.add_argument("--every", type=int, default=200_000)
    args = ap.parse_args()
    proc = psutil.Process()
    rows, engine = replay(events(args.hours, args.per_second, 7), EngineConfig(window_seconds=parse_duration_seconds(args.window)))
    windows = 0
    last_read = 0
    print("| events | windows closed | RSS MiB |\n|---:|---:|---:|")
    for row in rows:
        if row.kpi == "nps" and not row.labels:
            windows += 1
        if engine.stats.read - last_read >= args.every:
            last_read = engine.stats.read
            print(f"| {engine.stats.read:,} | {windows:,} | {proc.memory_info().rss / 2**20:.1f} |", flush=True)
    print(f"| {engine.stats.read:,} (end) | {windows:,} | {proc.memory_info().rss / 2**20:.1f} |")


if __name__ == "__main__":
    main()
