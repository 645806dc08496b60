"""Benchmark: replay of a generated event file against a bare `orjson.loads` pass.

Not part of the test run (timings vary); run it and paste the table into
docs/benchmarks.md:

    .venv/bin/python tests/perf/bench_replay.py --events 1000000

Each phase runs in its own process so peak RSS is per phase. Goals (issue #2):
replay <= 5x the bare parse time, peak RSS < 1 GiB, and RSS flat across windows
once old windows close (sampled at each quarter of the file with 1-minute windows).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PHASE_PARSE = """
import orjson, sys, time
t = time.perf_counter(); n = 0
with open(sys.argv[1], 'rb') as f:
    for line in f:
        if line.strip():
            orjson.loads(line); n += 1
print(n, time.perf_counter() - t)
"""

PHASE_REPLAY = """
import sys, time, os, psutil
from kpi.config import EngineConfig
from kpi.replay import replay
from kpi.windows import parse_duration_seconds
proc = psutil.Process()
total = os.path.getsize(sys.argv[1])
samples = []
def lines():
    done = 0; mark = total / 4
    with open(sys.argv[1], 'rb') as f:
        for line in f:
            done += len(line)
            if done >= mark:
                samples.append(proc.memory_info().rss); mark += total / 4
            yield line
t = time.perf_counter()
rows, engine = replay(lines(), EngineConfig(window_seconds=parse_duration_seconds(sys.argv[2])))
n_rows = sum(1 for _ in rows)
elapsed = time.perf_counter() - t
print(engine.stats.read, elapsed, n_rows, ",".join(str(s) for s in samples))
"""


def run_phase(code: str, *args: str) -> tuple[list[str], int]:
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=ROOT, check=True)
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return proc.stdout.split(), peak_kib


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--file", help="use this JSONL file instead of generating one")
    ap.add_argument("--rate", type=int, default=200, help="generator rate (simulated events/s): sets how many windows the file spans")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(args.file) if args.file else Path(tmp) / "events.jsonl"
        if not args.file:
            t = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "streams.cli", "generate", "--out", str(path), "--count", str(args.events),
                 "--rate", str(args.rate), "--seed", "1", "--start", "2026-01-01T00:00:00Z", "--quiet"],
                check=True, cwd=ROOT,
            )
            print(f"generated {args.events:,} events in {time.perf_counter() - t:.1f} s ({path.stat().st_size / 1e6:.0f} MB)", file=sys.stderr)

        (n_parse, parse_s), _ = run_phase(PHASE_PARSE, str(path))
        results = {}
        peaks = {}
        # Peak RSS from getrusage(RUSAGE_CHILDREN) is the max over all children so far,
        # so run the cheap phase first and the replays in increasing-memory order.
        for window in ("1h", "1m"):
            out, peak = run_phase(PHASE_REPLAY, str(path), window)
            results[window] = out
            peaks[window] = peak

    parse_s = float(parse_s)
    lines = [
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, {time.strftime('%Y-%m-%d')}",
        f"file: {int(n_parse):,} events",
        "",
        "| run | seconds | events/s | x bare parse | peak RSS MiB | RSS at 25/50/75/100% (MiB) |",
        "|---|---|---|---|---|---|",
        f"| bare orjson.loads | {parse_s:.2f} | {int(n_parse) / parse_s:,.0f} | 1.00 | - | - |",
    ]
    for window, (n, secs, rows, samples) in results.items():
        secs_f = float(secs)
        rss = "/".join(f"{int(s) / 2**20:.0f}" for s in samples.split(","))
        lines.append(
            f"| replay --window {window} ({int(rows):,} rows) | {secs_f:.2f} | {int(n) / secs_f:,.0f} | {secs_f / parse_s:.2f} | {peaks[window] / 1024:.0f} | {rss} |"
        )
    print("\n".join(lines))
    print(json.dumps({"parse_seconds": parse_s, "replay": results}), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
