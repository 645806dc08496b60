"""Soak: a worker under steady generated load for N minutes; RSS sampled every 10 s.

Not part of `make test`. Starts its own Kafka, a `kpi-monitor worker` (batch path) and
`kpi-monitor generate` in real time, and prints RSS samples plus first/last/max, so
docs/benchmarks.md can show whether memory stays flat:

    .venv/bin/python tests/perf/soak.py --minutes 10 --rate 500
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from streams.stack.kafka import KafkaNode  # noqa: E402
from streams.stack.ports import free_port  # noqa: E402
from tests.streams.worker_harness import Topics  # noqa: E402


SURVEY_PRODUCER = """
import asyncio, random, sys, time
from aiokafka import AIOKafkaProducer
sys.path.insert(0, "tests/perf")
from workload import survey
bootstrap, topic, rate, seconds = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
async def main():
    p = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5)
    await p.start()
    rng, i, start = random.Random(3), 0, time.time()
    while time.time() - start < seconds:
        due = int((time.time() - start) * rate)
        while i < due:
            key, value = survey(i, time.time(), rng, prefix="soak")
            await p.send(topic, value, key=key)
            i += 1
        await asyncio.sleep(0.05)
    await p.stop()
asyncio.run(main())
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=10)
    ap.add_argument("--rate", type=int, default=500, help="generated events/s")
    ap.add_argument(
        "--workload", choices=("mix", "surveys"), default="mix",
        help="mix: `kpi-monitor generate` (every event type; tickets and customers accumulate as "
        "engine state, by design); surveys: survey.nps only, so only windowed state remains",
    )
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        node = KafkaNode(Path(tmp) / "kafka")
        node.start()
        worker = gen = None
        try:
            topics = Topics()
            topics.create(node.bootstrap_servers)
            port = free_port()
            env = {**os.environ, **topics.env(), "KPI_KAFKA__BOOTSTRAP_SERVERS": node.bootstrap_servers,
                   "KPI_WEB__PORT": str(port), "KPI_APP_ID": f"{topics.prefix}-soak", "KPI_DATA_DIR": f"{tmp}/worker",
                   "KPI_EVALUATION_INTERVAL": "1s", "KPI_LOG_LEVEL": "warning"}
            worker = subprocess.Popen([sys.executable, "-m", "streams.cli", "worker"], env=env, cwd=ROOT,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(8)
            if args.workload == "surveys":
                gen = subprocess.Popen([sys.executable, "-c", SURVEY_PRODUCER, node.bootstrap_servers, topics.name("surveys"),
                                        str(args.rate), str(int(args.minutes * 60) + 30)], cwd=ROOT)
            else:
                gen = subprocess.Popen(
                    [sys.executable, "-m", "streams.cli", "generate", "--bootstrap-servers", node.bootstrap_servers,
                     "--rate", str(args.rate), "--duration", f"{int(args.minutes * 60) + 30}s", "--realtime", "--quiet",
                     "--seed", "5", "--topic-prefix", f"{topics.prefix}-"],
                    cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            proc = psutil.Process(worker.pid)
            samples = []
            deadline = time.monotonic() + args.minutes * 60
            while time.monotonic() < deadline:
                time.sleep(10)
                rss = proc.memory_info().rss / 2**20
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
                    text = r.read().decode()
                events = sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith("cxkpi_events_total{"))
                samples.append((time.monotonic(), rss, events))
                print(f"t={len(samples) * 10:4d}s rss={rss:6.1f} MiB events={events:,.0f}", flush=True)
        finally:
            for p in (gen, worker):
                if p is not None and p.poll() is None:
                    p.terminate()
                    p.wait(30)
            node.stop()
    rss = [s[1] for s in samples]
    half = rss[len(rss) // 2:]
    print(f"\nRSS first {rss[0]:.1f} MiB, last {rss[-1]:.1f} MiB, max {max(rss):.1f} MiB; "
          f"second half min/max {min(half):.1f}/{max(half):.1f} MiB; events {samples[-1][2]:,.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
