"""One benchmark: the KPI engine and the worker next to their ceilings and their peers.

Not part of `make test` (timings vary). Prints ONE markdown table; paste it into
docs/benchmarks.md under a dated heading:

    .venv/bin/python tests/perf/bench.py                       # 300k events, everything
    .venv/bin/python tests/perf/bench.py --events 100000 --sections engine,kafka
    .venv/bin/python tests/perf/bench.py --modes raw,worker-batch,quix-nps --sections kafka,freshness

What runs, each measured thing in its own process (tests/perf/consumers.py) so peak RSS
is per process:

- engine: a generated JSONL file (`kpi-monitor generate`, realistic mix of every event
  type) through `kpi.replay`, next to a bare `orjson.loads` pass over the same lines; and
  the same pair over the survey file the Kafka consumers read (the worker's pure-engine
  cost on its benchmark data). Each is the best of --repeat runs (about a second each).
- kafka: one broker (started here, free ports), one 4-partition topic, the same N survey.nps
  events for every consumer, read from the earliest offset by a fresh group, one consumer
  after another: raw aiokafka (the ceiling), Faust no-op, naive Faust table, the worker on
  the stock agent path, the worker with batching, Quix Streams no-op and Quix NPS per team.
- freshness: for `worker` and `worker-batch`, a real `kpi-monitor worker` at half the rate
  it reached above, for --freshness-seconds; see tests/perf/freshness.py for the method.

Quix Streams is the `bench` extra (`pip install -e '.[bench]'`). It caps pydantic below
2.14, so it can live in its own venv instead: `--quix-python var/bench-venv/bin/python`
(found automatically there). The quix modes need nothing else from this project.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.metadata
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path[:0] = [str(ROOT), str(HERE)]

import freshness  # noqa: E402
import workload  # noqa: E402
from streams.stack.jars import DEFAULT_KAFKA_VERSION  # noqa: E402
from streams.stack.kafka import KafkaNode  # noqa: E402
from streams.stack.ports import free_port  # noqa: E402
from streams.replay_jobs import AUTO_MIN_BYTES, auto_jobs, usable_cores  # noqa: E402
from streams.stack.topics import TopicSpec, ensure_topics  # noqa: E402

KAFKA_MODES = ("raw", "faust-noop", "faust-table", "worker", "worker-batch", "quix-noop", "quix-nps")
SECTIONS = ("engine", "kafka", "freshness")
LABELS = {
    "raw": "raw aiokafka getmany + orjson.loads (ceiling)",
    "faust-noop": "Faust agent, no-op",
    "faust-table": "naive Faust: per-event agent + tumbling windowed table (NPS/team)",
    "worker": "kpi-monitor worker, stock Faust agent path (every KPI)",
    "worker-batch": "kpi-monitor worker, batch consumer (every KPI, default)",
    "quix-noop": "Quix Streams, JSON + count (no-op)",
    "quix-nps": "Quix Streams: NPS/team, 1-min tumbling, group_by + RocksDB state",
}
QUIX_VENV_PYTHON = ROOT / "var/bench-venv/bin/python"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def load_average() -> float:
    return os.getloadavg()[0]


def machine() -> dict:
    model = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {}
    for dist in ("faust-streaming", "aiokafka", "orjson"):
        try:
            versions[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            versions[dist] = "-"
    import kpi.engine

    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True,
                               cwd=ROOT).stdout.strip()
        code = f"{head}{' + uncommitted changes' if dirty else ''}" if head else "?"
    except OSError:
        code = "?"
    return {
        "code": code,
        # mypyc-built kpi/ modules (.so next to the .py) are imported in preference to the source.
        "kpi_build": "mypyc-compiled" if kpi.engine.__file__.endswith(".so") else "pure Python",
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "nproc": os.cpu_count(),
        "cpu": model,
        "python": platform.python_version(),
        "kernel": platform.release(),
        "kafka": DEFAULT_KAFKA_VERSION,
        "versions": versions,
    }


def find_quix_python(explicit: str | None) -> tuple[str | None, str | None]:
    """(interpreter, quixstreams version) or (None, why not)."""
    candidates = [explicit] if explicit else [sys.executable, str(QUIX_VENV_PYTHON)]
    for python in candidates:
        if not python or not Path(python).exists():
            continue
        probe = subprocess.run(
            [python, "-c", "import importlib.metadata as m; print(m.version('quixstreams'))"],
            capture_output=True, text=True,
        )
        if probe.returncode == 0:
            return python, probe.stdout.strip()
    return None, "quixstreams not installed: pip install -e '.[bench]' (or into var/bench-venv)"


def run_consumer(python: str, mode: str, args: list[str], timeout: float) -> dict:
    cmd = [python, str(HERE / "consumers.py"), mode, *args]
    started = time.monotonic()
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    except subprocess.TimeoutExpired:
        return {"mode": mode, "error": f"timed out after {timeout:.0f} s"}
    # Faust's spinner may prefix the line with terminal escapes.
    lines = [line[line.index('{"mode"'):] for line in out.stdout.splitlines() if '{"mode"' in line]
    if not lines:
        tail = (out.stderr or out.stdout).strip().splitlines()[-15:]
        return {"mode": mode, "error": "\n".join(tail) or f"exit {out.returncode}"}
    result = json.loads(lines[-1])
    result["wall_seconds"] = time.monotonic() - started
    return result


# -- sections -----------------------------------------------------------------------------


def engine_section(n: int, tmp: Path, survey_file: Path, timeout: float, repeat: int) -> list[dict]:
    path = tmp / "generated.jsonl"
    t = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "streams.cli", "generate", "--out", str(path), "--count", str(n), "--rate", "200",
         "--seed", "1", "--start", "2026-01-01T00:00:00Z", "--quiet"],
        check=True, cwd=ROOT, stderr=subprocess.DEVNULL,
    )
    log(f"generated {n:,} events in {time.perf_counter() - t:.1f} s ({path.stat().st_size / 1e6:.0f} MB)")
    rows = []
    # What `replay --jobs auto` picks for a large file on this machine.
    jobs = auto_jobs(str(path), usable_cores(), AUTO_MIN_BYTES)
    mix = [("parse", None, 1), ("replay", "1h", 1), ("replay", "1m", 1)]
    if jobs > 1:
        mix += [("replay", "1h", jobs), ("replay", "1m", jobs)]
    for workload_name, file, runs in (
        ("engine, generated mix (every event type)", path, mix),
        ("engine, the survey.nps data of the Kafka rows", survey_file, (("parse", None, 1), ("replay", "1m", 1))),
    ):
        # Round robin, `repeat` rounds, the fastest of each kept: each run takes a second or
        # two, and this machine's speed drifts by tens of percent over a minute, so runs
        # that are compared must be interleaved, not measured one block after another.
        tries: dict[int, list[dict]] = {i: [] for i in range(len(runs))}
        loads: dict[int, float] = {}
        for round_ in range(repeat):
            for i, (mode, window, jobs) in enumerate(runs):
                log(f"round {round_ + 1}/{repeat}: {mode} {window or ''} jobs={jobs} over {file.name} ...")
                args = ["--file", str(file)] + (["--window", window, "--jobs", str(jobs)] if window else [])
                loads.setdefault(i, load_average())
                tries[i].append(run_consumer(sys.executable, mode, args, timeout))
        for i, (mode, window, jobs) in enumerate(runs):
            good = [r for r in tries[i] if "seconds" in r]
            result = min(good, key=lambda r: r["seconds"]) if good else tries[i][-1]
            result["tries_seconds"] = [round(r["seconds"], 4) for r in good]
            result.update(workload=workload_name, load=loads[i],
                          label="bare orjson.loads (ceiling)" if mode == "parse"
                          else f"kpi replay --window {window}" + (f" --jobs {jobs} (peak RSS: largest process)" if jobs > 1 else ""))
            if jobs > 1:
                result["peak_rss_bytes"] = max(result["peak_rss_bytes"], result.get("children_peak_rss_bytes", 0))
            log(f"  {result}")
            rows.append(result)
    return rows


def kafka_section(
    bootstrap: str, records: list, modes: list[str], quix_python: str | None, tmp: Path, timeout: float
) -> list[dict]:
    suffix = os.urandom(3).hex()
    topics = {k: f"bench-{k}-{suffix}" for k in ("tickets", "surveys", "orders", "customers", "dead_letter")}
    ensure_topics(bootstrap, [TopicSpec(name, 1 if k == "dead_letter" else 4) for k, name in topics.items()])
    secs = asyncio.run(workload.produce(bootstrap, topics["surveys"], records))
    log(f"produced {len(records):,} survey.nps events to 4 partitions in {secs:.1f} s")
    other = {k: v for k, v in topics.items() if k != "surveys"}
    rows = []
    for mode in modes:
        python = sys.executable
        if mode.startswith("quix"):
            if quix_python is None:
                rows.append({"mode": mode, "error": "skipped: quixstreams not installed", "label": LABELS[mode],
                             "workload": "kafka"})
                continue
            python = quix_python
        log(f"running {mode} ...")
        args = ["--bootstrap", bootstrap, "--topic", topics["surveys"], "--events", str(len(records)),
                "--other-topics", json.dumps(other), "--scratch", str(tmp / "scratch")]
        load = load_average()
        result = run_consumer(python, mode, args, timeout)
        result.update(workload="kafka", label=LABELS[mode], load=load)
        log(f"  {result}")
        rows.append(result)
    return rows


def freshness_section(bootstrap: str, kafka_rows: list[dict], seconds: float, tmp: Path) -> None:
    for row in kafka_rows:
        if row.get("mode") not in ("worker", "worker-batch") or not row.get("seconds"):
            continue
        rate = row["events"] / row["seconds"] / 2
        suffix = os.urandom(3).hex()
        topics = {k: f"fresh-{k}-{suffix}" for k in ("tickets", "surveys", "orders", "customers", "dead_letter")}
        ensure_topics(bootstrap, [TopicSpec(name, 1 if k == "dead_letter" else 4) for k, name in topics.items()])
        log(f"freshness of {row['mode']} at {rate:,.0f} events/s for {seconds:.0f} s ...")
        load = load_average()
        try:
            result = asyncio.run(freshness.measure(
                bootstrap=bootstrap, topics=topics, batching=row["mode"] == "worker-batch", rate=rate,
                seconds=seconds, scratch=tmp / "scratch", cwd=ROOT, port=free_port(),
            ))
        except Exception as exc:  # noqa: BLE001 - report it in the table, keep the other rows
            result = {"error": f"{type(exc).__name__}: {exc}"}
        result["load"] = load
        log(f"  {result}")
        row["freshness"] = result


# -- output -------------------------------------------------------------------------------


def _rate(row: dict) -> float | None:
    if "error" in row or not row.get("seconds"):
        return None
    return row["events"] / row["seconds"]


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value * 1000:,.0f}"


def table(info: dict, n: int, rows: list[dict]) -> str:
    lines = [
        f"date: {info['date']}; machine: {info['nproc']} cores, {info['cpu']}, Linux {info['kernel']}; "
        f"Python {info['python']}; kpi/ {info['kpi_build']}; Kafka {info['kafka']}; "
        + ", ".join(f"{k} {v}" for k, v in info["versions"].items())
        + (f", quixstreams {info['quixstreams']}" if info.get("quixstreams") else ""),
        f"load average (1 min): {info['load_before']:.2f} before, {info['load_after']:.2f} after; "
        f"per row in the last column",
        f"code: {info['code']}; events: {n:,}",
        "",
        "| workload | run | events/s | x ceiling | x Quix NPS | freshness p50 / p99 ms (per event) "
        "| scrape - watermark p50 / p99 ms | peak RSS MiB | load |",
        "|---|---|---:|---:|---:|---|---|---:|---:|",
    ]
    ceilings: dict[str, float] = {}
    for row in rows:
        if row.get("mode") in ("parse", "raw") and _rate(row):
            ceilings[row["workload"]] = _rate(row)
    quix = next((_rate(r) for r in rows if r.get("mode") == "quix-nps"), None)
    for row in rows:
        rate = _rate(row)
        name = row.get("label", row.get("mode"))
        if rate is None:
            error = (row.get("error") or "?").strip().splitlines()[-1][:120].replace("|", "/")
            lines.append(f"| {row['workload']} | {name} | {error} | | | | | | |")
            continue
        if row.get("incomplete"):
            name += f" ({row['events']:,} counted, rest dropped)"
        ceiling = ceilings.get(row["workload"])
        x_ceiling = f"{rate / ceiling:.3f}" if ceiling else "-"
        x_quix = f"{rate / quix:.2f}" if quix and row["workload"] == "kafka" else "-"
        fresh = row.get("freshness")
        per_event = watermark = "-"
        if fresh and "error" in fresh:
            per_event = "error: " + fresh["error"][:80].replace("|", "/")
        elif fresh:
            per_event = (f"{_ms(fresh['per_event_p50'])} / {_ms(fresh['per_event_p99'])} "
                         f"at {fresh['achieved_rate']:,.0f}/s")
            if fresh["achieved_rate"] < 0.97 * fresh["target_rate"]:
                per_event += f" (target {fresh['target_rate']:,.0f}/s not reached by the producer)"
            watermark = f"{_ms(fresh['watermark_p50'])} / {_ms(fresh['watermark_p99'])}"
        lines.append(
            f"| {row['workload']} | {name} | {rate:,.0f} | {x_ceiling} | {x_quix} | {per_event} | {watermark} "
            f"| {row['peak_rss_bytes'] / 2**20:,.0f} | {row['load']:.2f} |"
        )
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=300_000, help="events per run (default 300000, the reference)")
    ap.add_argument("--sections", default=",".join(SECTIONS), help=f"subset of {','.join(SECTIONS)}")
    ap.add_argument("--modes", default=",".join(KAFKA_MODES), help="Kafka consumers to run, in this order")
    ap.add_argument("--bootstrap", help="use this running broker instead of starting one")
    ap.add_argument("--quix-python", help=f"interpreter with quixstreams (default: this one, else {QUIX_VENV_PYTHON})")
    ap.add_argument("--freshness-seconds", type=float, default=60.0)
    ap.add_argument("--repeat", type=int, default=5, help="engine runs: best of this many rounds (default 5)")
    ap.add_argument("--timeout", type=float, default=900.0, help="per run, seconds")
    ap.add_argument("--json-out", help="also write every raw result as JSON here")
    args = ap.parse_args()
    sections = [s for s in args.sections.split(",") if s]
    modes = [m for m in args.modes.split(",") if m]
    for name in sections:
        if name not in SECTIONS:
            ap.error(f"unknown section {name}")
    for mode in modes:
        if mode not in KAFKA_MODES:
            ap.error(f"unknown mode {mode}")
    if "freshness" in sections and "kafka" not in sections:
        ap.error("freshness runs at half the rate the kafka section measures: add kafka to --sections")

    info = machine()
    info["load_before"] = load_average()
    quix_python, quix_version = find_quix_python(args.quix_python)
    if quix_python:
        info["quixstreams"] = quix_version
        log(f"quixstreams {quix_version} from {quix_python}")
    elif any(m.startswith("quix") for m in modes) and "kafka" in sections:
        log(f"warning: {quix_version}; the quix rows are skipped")

    records = list(workload.backlog(args.events))
    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="kpi-bench-") as tmp_name:
        tmp = Path(tmp_name)
        survey_file = tmp / "surveys.jsonl"
        workload.write_jsonl(survey_file, records)
        if "engine" in sections:
            rows += engine_section(args.events, tmp, survey_file, args.timeout, args.repeat)
        if "kafka" in sections:
            node = None
            try:
                if args.bootstrap:
                    bootstrap = args.bootstrap
                else:
                    node = KafkaNode(tmp / "kafka")
                    node.start()
                    bootstrap = node.bootstrap_servers
                kafka_rows = kafka_section(bootstrap, records, modes, quix_python, tmp, args.timeout)
                rows += kafka_rows
                if "freshness" in sections:
                    freshness_section(bootstrap, kafka_rows, args.freshness_seconds, tmp)
            finally:
                if node is not None:
                    node.stop()
        shutil.rmtree(tmp / "scratch", ignore_errors=True)

    info["load_after"] = load_average()
    print(table(info, args.events, rows))
    if args.json_out:
        Path(args.json_out).write_text(json.dumps({"machine": info, "events": args.events, "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
