"""`kpi-monitor demo`: the local stack, a worker and a live event generator, in one command.

What it does, in order:

1. `stack up` (streams/stack/control.py): Kafka, Alertmanager, Prometheus. Idempotent:
   components already running are reused and left running at the end.
2. `kpi-monitor worker` as a child process, serving /metrics where the stack's Prometheus
   scrapes it (`--worker-metrics-address`), evaluating every second so numbers move.
3. A warm-up burst: `kpi-monitor generate --no-realtime` of the last `--warmup` of
   simulated traffic, so the 1h and 24h windows and resolution times have data at once.
4. `kpi-monitor generate` in real time at `--rate` events/s until `--duration` or Ctrl-C.

It prints where to look and a one-line summary of live KPIs every few seconds. Ctrl-C or
SIGTERM stops the generator, the worker and the stack components this run started, in
that order, and waits for each: nothing it started is left running.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from streams.commands.stack import _SETTING_FLAGS, _settings

if TYPE_CHECKING:
    from streams.stack.settings import StackSettings

EXIT_FAILED = 1
EXIT_BAD_SETTINGS = 2

DEFAULT_RATE = 20.0
DEFAULT_WARMUP = "1h"
DEFAULT_DURATION = "24h"
DEFAULT_EVALUATION_INTERVAL = "1s"
# The worker's grace during a demo covers the warm-up burst: the burst writes an hour of
# event time in seconds, and a fetch that hands one partition's records over before
# another's must not make any of them "late" (they would be dead-lettered).
BASE_GRACE_SECONDS = 300
WORKER_APP_ID = "kpi-monitor-demo"
WORKER_READY_TIMEOUT_SECONDS = 120.0
STOP_TIMEOUT_SECONDS = 30.0
STATUS_EVERY_SECONDS = 5.0
DEMO_QUERY = 'cxkpi_nps_score{window="5m"}'

DESCRIPTION = """\
Start everything a newcomer needs to watch live KPIs: the local Kafka, Prometheus and
Alertmanager (reused if already running), a worker, and a generator sending realistic
events at a human rate after a one-hour warm-up burst. Prints the URLs of /metrics,
Prometheus (with a ready-made query) and the alerts, then a live KPI line every few
seconds. Ctrl-C stops what the demo started and leaves nothing running.
"""

EPILOG = """\
examples:
  kpi-monitor demo                        # or: make demo
  kpi-monitor demo --rate 50 --warmup 2h
  kpi-monitor demo --state-dir /tmp/demo --kafka-port 19092 --prometheus-port 19090 \\
      --alertmanager-port 19094 --worker-metrics-address 127.0.0.1:16066

The stack flags are those of `kpi-monitor stack up` (each also a KPI_STACK_* variable).
The warm-up's tickets that would resolve after it ended stay open: they show up as open
(and, hours later, breached) tickets. Logs: <state-dir>/demo/worker.log and generator.log.
Exit status: 0 stopped by Ctrl-C/SIGTERM or the generator finished and was stopped,
1 something could not start (the message says what), 2 bad options.
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="local stack + worker + live generator: live KPIs in a minute",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    demo = parser.add_argument_group("demo")
    demo.add_argument("--rate", type=float, default=DEFAULT_RATE, metavar="N",
                      help=f"live events per second (default {DEFAULT_RATE:g})")
    demo.add_argument("--warmup", default=DEFAULT_WARMUP, metavar="DURATION",
                      help=f"simulated history sent as a burst first, 0 for none (default {DEFAULT_WARMUP})")
    demo.add_argument("--duration", default=DEFAULT_DURATION, metavar="DURATION",
                      help=f"how long the live generator runs (default {DEFAULT_DURATION})")
    demo.add_argument("--evaluation-interval", default=DEFAULT_EVALUATION_INTERVAL, metavar="DURATION",
                      help=f"how often the worker recomputes the KPIs (default {DEFAULT_EVALUATION_INTERVAL})")
    demo.add_argument("--seed", type=int, help="generator seed (default: random, printed)")
    demo.add_argument("--quiet", action="store_true", help="no live KPI line")
    settings = parser.add_argument_group("stack settings (as for `kpi-monitor stack up`)")
    for name, (kind, help_text) in _SETTING_FLAGS.items():
        settings.add_argument(f"--{name.replace('_', '-')}", dest=name, type=kind, default=None, help=help_text)
    parser.set_defaults(func=run)


# -- pure helpers (unit-tested) ---------------------------------------------------------------


def prometheus_query_url(prometheus_url: str, expr: str = DEMO_QUERY, range_input: str = "15m") -> str:
    query = urllib.parse.urlencode({"g0.expr": expr, "g0.tab": "0", "g0.range_input": range_input})
    return f"{prometheus_url}/graph?{query}"


def worker_grace_seconds(warmup_seconds: float) -> int:
    return int(BASE_GRACE_SECONDS + max(0.0, warmup_seconds))


def format_rfc3339(ts_seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(ts_seconds)))


def warmup_argv(python: str, bootstrap: str, *, start_seconds: float, warmup: str, rate: float, seed: int) -> list[str]:
    return [
        python, "-m", "streams.cli", "generate", "--bootstrap-servers", bootstrap,
        "--start", format_rfc3339(start_seconds), "--duration", warmup, "--no-realtime",
        "--rate", f"{rate:g}", "--seed", str(seed), "--quiet",
    ]


def live_argv(python: str, bootstrap: str, *, duration: str, rate: float, seed: int) -> list[str]:
    return [
        python, "-m", "streams.cli", "generate", "--bootstrap-servers", bootstrap,
        "--duration", duration, "--realtime", "--rate", f"{rate:g}", "--seed", str(seed), "--quiet",
    ]


def parse_samples(text: str, wanted: dict[str, str]) -> dict[str, float]:
    """{key: value} for each exposition line `wanted[key]` (metric name with labels, exact)."""
    found: dict[str, float] = {}
    lookup = {line: key for key, line in wanted.items()}
    for line in text.splitlines():
        name, _, value = line.rpartition(" ")
        key = lookup.get(name)
        if key is not None:
            try:
                found[key] = float(value)
            except ValueError:
                pass
    return found


_STATUS_SAMPLES = {
    "nps": 'cxkpi_nps_score{window="5m"}',
    "csat": 'cxkpi_csat_ratio{window="1h"}',
    "resolution_p50": 'cxkpi_resolution_time_p50_seconds{window="1h"}',
    "orders": 'cxkpi_orders{window="5m"}',
}


def events_consumed(text: str) -> float:
    """Sum of cxkpi_events_total over every topic and outcome."""
    total = 0.0
    for line in text.splitlines():
        if line.startswith("cxkpi_events_total{"):
            try:
                total += float(line.rpartition(" ")[2])
            except ValueError:
                pass
    return total


def status_line(text: str) -> str:
    s = parse_samples(text, _STATUS_SAMPLES)
    parts = [f"events {events_consumed(text):,.0f}"]
    if "nps" in s:
        parts.append(f"NPS(5m) {s['nps']:+.1f}")
    if "csat" in s:
        parts.append(f"CSAT(1h) {s['csat'] * 100:.0f}%")
    if "resolution_p50" in s:
        parts.append(f"resolution p50(1h) {s['resolution_p50'] / 60:.0f} min")
    if "orders" in s:
        parts.append(f"orders(5m) {s['orders']:.0f}")
    return "  ".join(parts)


# -- processes --------------------------------------------------------------------------------


class _Stop(Exception):
    """SIGTERM, turned into an exception like Ctrl-C's KeyboardInterrupt."""


def _raise_stop(signum: int, frame: object) -> None:
    raise _Stop()


@dataclass
class Child:
    name: str
    popen: subprocess.Popen
    log_path: Path

    @property
    def running(self) -> bool:
        return self.popen.poll() is None

    def stop(self, sig: int = signal.SIGTERM, timeout_seconds: float = STOP_TIMEOUT_SECONDS) -> None:
        if self.popen.poll() is not None:
            return
        try:
            os.killpg(self.popen.pid, sig)  # own session: its whole group
        except ProcessLookupError:
            pass
        try:
            self.popen.wait(timeout=timeout_seconds)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(self.popen.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.popen.wait(timeout=10)


def _spawn(name: str, argv: list[str], log_path: Path, env: dict[str, str] | None = None) -> Child:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        log.write(f"\n=== {time.strftime('%Y-%m-%d %H:%M:%S')} {' '.join(argv)}\n".encode())
        log.flush()
        popen = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
            start_new_session=True,  # Ctrl-C reaches the demo only; it stops the children in order
        )
    return Child(name, popen, log_path)


def _tail(path: Path, lines: int = 15) -> str:
    from streams.stack.process import tail_text

    return tail_text(path, lines)


def _fetch(url: str, timeout: float = 2.0) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.read().decode("utf-8", errors="replace")
    except (OSError, urllib.error.URLError):
        return None


@dataclass
class Demo:
    settings: StackSettings
    args: argparse.Namespace
    started_components: list[str] = field(default_factory=list)
    children: list[Child] = field(default_factory=list)

    @property
    def demo_dir(self) -> Path:
        return Path(self.settings.state_dir).resolve() / "demo"

    def say(self, message: str) -> None:
        print(message, flush=True)

    def run(self) -> int:
        from streams.generator.timefmt import parse_duration_seconds
        from streams.stack.control import stack_up
        from streams.stack.ports import PortClaim, ensure_ports_free

        args = self.args
        warmup_seconds = parse_duration_seconds(args.warmup)
        host, _, port_text = self.settings.worker_metrics_address.rpartition(":")
        host = host or "127.0.0.1"
        worker_port = int(port_text)
        # Fail before anything starts if a worker (e.g. `make run`) already holds the port.
        ensure_ports_free([PortClaim(worker_port, "worker metrics", "--worker-metrics-address or KPI_STACK_WORKER_METRICS_ADDRESS", host)])

        statuses = stack_up(self.settings, progress=lambda m: print(f"  {m}", file=sys.stderr, flush=True))
        self.started_components = [s.name for s in statuses if s.started_now]
        endpoints = {s.name: s.endpoints for s in statuses}
        bootstrap = endpoints["kafka"]["bootstrap"]
        prometheus_url = endpoints["prometheus"]["url"]
        alertmanager_url = endpoints["alertmanager"]["url"]

        metrics_url = f"http://{host}:{worker_port}/metrics"
        worker = _spawn("worker", [sys.executable, "-m", "streams.cli", "worker"], self.demo_dir / "worker.log", {
            "KPI_KAFKA__BOOTSTRAP_SERVERS": bootstrap,
            "KPI_WEB__HOST": host,
            "KPI_WEB__PORT": str(worker_port),
            "KPI_EVALUATION_INTERVAL": args.evaluation_interval,
            "KPI_GRACE": f"{worker_grace_seconds(warmup_seconds)}s",
            "KPI_APP_ID": WORKER_APP_ID,
            "KPI_DATA_DIR": str(self.demo_dir / "worker-data"),
        })
        self.children.append(worker)
        self._wait_worker(worker, metrics_url)

        seed = args.seed if args.seed is not None else int.from_bytes(os.urandom(3), "big")
        warmup_events = 0
        if warmup_seconds > 0:
            self.say(f"warm-up: sending the last {args.warmup} of simulated traffic at {args.rate:g} events/s as a burst ...")
            start = time.time() - warmup_seconds
            burst = _spawn("warm-up generator", warmup_argv(sys.executable, bootstrap, start_seconds=start,
                                                              warmup=args.warmup, rate=args.rate, seed=seed),
                           self.demo_dir / "generator.log")
            self.children.append(burst)
            code = burst.popen.wait()
            if code != 0:
                raise _Failure(f"the warm-up generator exited with {code}; last lines of {burst.log_path}:\n{_tail(burst.log_path)}")
            warmup_events = int(args.rate * warmup_seconds)
        live = _spawn("generator", live_argv(sys.executable, bootstrap, duration=args.duration, rate=args.rate,
                                             seed=seed + 1), self.demo_dir / "generator.log")
        self.children.append(live)

        stack_note = (
            "the stack too (this demo started it)" if set(self.started_components) == {"kafka", "alertmanager", "prometheus"}
            else f"{', '.join(self.started_components)} too (this demo started them); the rest of the stack was already running and stays up"
            if self.started_components
            else "nothing else: the stack was already running and stays up (`kpi-monitor stack down` stops it)"
        )
        self.say("")
        self.say("kpi-monitor demo is running; live numbers move within a minute")
        self.say(f"  metrics        {metrics_url}")
        self.say(f"  prometheus     {prometheus_query_url(prometheus_url)}")
        self.say(f"  alerts         {prometheus_url}/alerts")
        self.say(f"  alertmanager   {alertmanager_url}/#/alerts")
        self.say(f"  kafka          {bootstrap}")
        self.say(f"  events         {args.rate:g}/s live for {args.duration}"
                 + (f", after a warm-up burst of ~{warmup_events:,} ({args.warmup} simulated)" if warmup_events else "")
                 + f"; seed {seed}")
        self.say(f"  logs           {worker.log_path}, {live.log_path}")
        self.say(f"Ctrl-C stops the generator, the worker and {stack_note}.")
        self.say("")
        return self._watch(worker, live, metrics_url)

    def _wait_worker(self, worker: Child, metrics_url: str) -> None:
        deadline = time.monotonic() + WORKER_READY_TIMEOUT_SECONDS
        while _fetch(metrics_url) is None:
            if not worker.running:
                raise _Failure(f"the worker exited with {worker.popen.returncode} before serving {metrics_url}; "
                               f"last lines of {worker.log_path}:\n{_tail(worker.log_path)}")
            if time.monotonic() > deadline:
                raise _Failure(f"the worker did not serve {metrics_url} within {WORKER_READY_TIMEOUT_SECONDS:.0f} s; "
                               f"see {worker.log_path}")
            time.sleep(0.5)

    def _watch(self, worker: Child, live: Child, metrics_url: str) -> int:
        generator_done = False
        next_status = time.monotonic()
        while True:
            if not worker.running:
                raise _Failure(f"the worker exited with {worker.popen.returncode}; last lines of {worker.log_path}:\n"
                               f"{_tail(worker.log_path)}")
            if not generator_done and not live.running:
                generator_done = True
                code = live.popen.returncode
                self.say(f"the generator finished (exit {code}); the worker keeps serving. Ctrl-C to stop."
                         if code == 0 else f"the generator exited with {code}; see {live.log_path}. Ctrl-C to stop.")
            if not self.args.quiet and time.monotonic() >= next_status:
                text = _fetch(metrics_url)
                if text is not None:
                    self.say(f"{time.strftime('%H:%M:%S')}  {status_line(text)}")
                next_status = time.monotonic() + STATUS_EVERY_SECONDS
            time.sleep(0.5)

    def stop(self) -> None:
        """Generator(s) first (SIGINT: they flush and print a summary), then the worker, then the stack."""
        for child in reversed(self.children):
            if child.running:
                self.say(f"  stopping {child.name} (pid {child.popen.pid})")
            child.stop(signal.SIGINT if "generator" in child.name else signal.SIGTERM)
        if self.started_components:
            self._stop_stack_components()

    def _stop_stack_components(self) -> None:
        from streams.stack.control import COMPONENTS, stack_down
        from streams.stack.process import stop_pid
        from streams.stack.state import StackState

        progress = lambda m: self.say(f"  {m}")  # noqa: E731
        if set(self.started_components) == set(COMPONENTS):
            stack_down(self.settings, progress=progress)
            return
        state = StackState(self.settings.state_dir)
        with state.locked():
            records = state.load()
            for name in reversed(COMPONENTS):
                record = records.get(name)
                if name in self.started_components and record is not None:
                    stop_pid(record.pid, record.create_time, self.settings.stop_timeout_seconds)
                    state.forget(name)
                    progress(f"{name}: stopped (pid {record.pid})")


class _Failure(Exception):
    pass


def run(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from streams.generator.timefmt import parse_duration_seconds
    from streams.stack.errors import StackError

    if not args.rate > 0:
        print("kpi-monitor demo: error: --rate must be positive", file=sys.stderr)
        return EXIT_BAD_SETTINGS
    for flag, value in (("--warmup", args.warmup), ("--duration", args.duration),
                        ("--evaluation-interval", args.evaluation_interval)):
        try:
            if parse_duration_seconds(value) < 0 or (flag != "--warmup" and parse_duration_seconds(value) == 0):
                raise ValueError("must be positive")
        except ValueError as exc:
            print(f"kpi-monitor demo: error: {flag} {value}: {exc}", file=sys.stderr)
            return EXIT_BAD_SETTINGS
    try:
        settings = _settings(args)
    except ValidationError as exc:
        print(f"kpi-monitor demo: error: invalid stack settings:\n{exc}", file=sys.stderr)
        return EXIT_BAD_SETTINGS

    demo = Demo(settings, args)
    # Take SIGINT even when started with it ignored (`cmd &` in a script): Ctrl-C/SIGINT must
    # stop the demo, and children exec'd from here then get the default disposition back too
    # (an ignored signal stays ignored across exec; a handled one does not).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    previous_term = signal.signal(signal.SIGTERM, _raise_stop)
    status = 0
    try:
        status = demo.run()
    except (KeyboardInterrupt, _Stop):
        status = 0
    except (StackError, _Failure) as exc:
        print(f"kpi-monitor demo: error: {exc}", file=sys.stderr)
        status = EXIT_FAILED
    finally:
        # A second Ctrl-C must not cut the clean-up short and leave processes behind.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        try:
            print("\nstopping the demo ...", flush=True)
            demo.stop()
            print("demo stopped; nothing it started is running", flush=True)
        finally:
            signal.signal(signal.SIGINT, signal.default_int_handler)
            signal.signal(signal.SIGTERM, previous_term)
    return status
