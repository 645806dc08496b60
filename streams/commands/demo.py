"""`kpi-monitor demo`: the local stack, a worker and a live event generator, in one command.

What it does, in order:

1. `stack up` (streams/stack/control.py): Kafka, Alertmanager, Prometheus. Idempotent:
   components already running are reused and left running at the end.
2. An alert receiver (streams/stack/alert_receiver.py) in a thread on the stack's webhook
   address: every alert Alertmanager sends is printed as one line in this terminal.
3. `kpi-monitor worker` as a child process, serving /metrics where the stack's Prometheus
   scrapes it (`--worker-metrics-address`), evaluating every second so numbers move.
4. A warm-up burst: `kpi-monitor generate --no-realtime` of the last `--warmup` of
   simulated traffic, so the 1h and 24h windows and resolution times have data at once.
   Only when the topics are empty: when they hold an earlier run's events, the worker
   continues from those (its checkpoints) and a second warm-up would double the numbers.
5. `kpi-monitor generate` in real time at `--rate` events/s until `--duration` or Ctrl-C.

It prints where to look and a one-line summary of live KPIs every few seconds. Ctrl-C,
SIGTERM and SIGHUP (the terminal closed) stop the generator, the worker and the stack
components this run started, in that order, and wait for each. If the demo itself is
killed, its children die with it (prctl PDEATHSIG, streams/stack/process.py), and
`kpi-monitor stack down` stops a demo's worker and generator too (they are recorded in the
stack's state file).
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
    from streams.stack.alert_receiver import AlertReceiver
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
DEMO_SESSION_TIMEOUT = "10s"
WORKER_READY_TIMEOUT_SECONDS = 120.0
STOP_TIMEOUT_SECONDS = 30.0
STATUS_EVERY_SECONDS = 5.0
DEMO_QUERY = 'cxkpi_nps_score{window="5m"}'
# Children of a killed demo: servers get SIGTERM (they stop cleanly and quickly); the worker
# and generator get SIGKILL, which cannot hang on a broker that is going away at the same
# moment, and loses nothing committed (the worker restores from its last checkpoint).
SERVER_DEATH_SIGNAL = signal.SIGTERM
CLIENT_DEATH_SIGNAL = signal.SIGKILL
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}

DESCRIPTION = """\
Start everything a newcomer needs to watch live KPIs: the local Kafka, Prometheus and
Alertmanager (reused if already running), a worker, and a generator sending realistic
events at a human rate after a one-hour warm-up burst. Prints the URLs of /metrics,
Prometheus (a ready-made query, the alerts and targets pages) and Alertmanager's alerts,
then a live KPI line every few seconds, and each alert Alertmanager sends as it arrives.
Ctrl-C, SIGTERM or closing the terminal stops what the demo started and leaves nothing
running; so does `kpi-monitor stack down`.
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

A demo whose topics already hold events (an earlier demo) continues from them and sends
no warm-up, so the numbers are not doubled; it says so. To start clean instead:
  kpi-monitor stack down --wipe-data      # with the same --state-dir

Exit status: 0 stopped by Ctrl-C/SIGTERM/SIGHUP or `kpi-monitor stack down`, 1 something
could not start or the worker died (the message says what), 2 bad options.
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `kpi-monitor demo` to `subparsers`: the demo's own flags (rate, warm-up, duration,
    evaluation interval, seed, quiet) and the stack's settings flags (as for `kpi-monitor stack
    up`); `func` is `run`."""
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


def prometheus_page_prefix(prometheus_url: str) -> str:
    """'/classic' where Prometheus serves its UI there, else ''.

    Debian's Prometheus 2.x package has only the classic UI, under /classic (/alerts and
    /targets are 404); a build with the React UI also answers /classic/... up to 2.x, and 3.x
    serves /alerts. Asking the server itself gives links that work with the installed one.
    """
    return "/classic" if _status(f"{prometheus_url}/classic/alerts") == 200 else ""


def prometheus_query_url(prometheus_url: str, expr: str = DEMO_QUERY, range_input: str = "15m", prefix: str = "/classic") -> str:
    """The URL of Prometheus' graph page showing `expr` over the last `range_input` (default: the
    5m NPS gauge over 15m); `prefix`: "/classic" where the server has only the classic UI (see
    `prometheus_page_prefix`), "" otherwise."""
    query = urllib.parse.urlencode({"g0.expr": expr, "g0.tab": "0", "g0.range_input": range_input})
    return f"{prometheus_url}{prefix}/graph?{query}"


def demo_links(*, metrics_url: str, prometheus_url: str, alertmanager_url: str, prefix: str) -> list[tuple[str, str]]:
    """(label, URL) of every page the demo prints; each answers 200 while the demo runs."""
    return [
        ("wall", metrics_url.removesuffix("/metrics") + "/wall"),
        ("metrics", metrics_url),
        ("prometheus", prometheus_query_url(prometheus_url, prefix=prefix)),
        ("alerts", f"{prometheus_url}{prefix}/alerts"),
        ("targets", f"{prometheus_url}{prefix}/targets"),
        # Debian's Alertmanager package has no web UI ("does not include a web application").
        ("alertmanager", f"{alertmanager_url}/api/v2/alerts"),
    ]


def worker_grace_seconds(warmup_seconds: float) -> int:
    """The demo worker's grace in whole seconds: 300 s plus the warm-up, so the burst of
    `warmup_seconds` of event time, fetched one partition ahead of another, is never judged late
    (it would be dead-lettered)."""
    return int(BASE_GRACE_SECONDS + max(0.0, warmup_seconds))


def format_rfc3339(ts_seconds: float) -> str:
    """`ts_seconds` (seconds since the Unix epoch, fraction dropped) as an RFC 3339 UTC
    timestamp, "2026-11-25T10:00:00Z", as `kpi-monitor generate --start` reads it."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(ts_seconds)))


def warmup_argv(python: str, bootstrap: str, *, start_seconds: float, warmup: str, rate: float, seed: int) -> list[str]:
    """The command line of the warm-up burst: `kpi-monitor generate` to Kafka at `bootstrap`,
    `warmup` of simulated time (a duration, e.g. "1h") from `start_seconds`, as fast as it can
    (--no-realtime), at `rate` events per simulated second, with `seed`."""
    return [
        python, "-m", "streams.cli", "generate", "--bootstrap-servers", bootstrap,
        "--start", format_rfc3339(start_seconds), "--duration", warmup, "--no-realtime",
        "--rate", f"{rate:g}", "--seed", str(seed), "--quiet",
    ]


def live_argv(python: str, bootstrap: str, *, duration: str, rate: float, seed: int) -> list[str]:
    """The command line of the live generator: `kpi-monitor generate` to Kafka at `bootstrap`, in
    real time, `rate` events per second for `duration`, with `seed`."""
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
    """The one-line live summary of a /metrics scrape (`text`, the Prometheus text format):
    events consumed, and where present NPS (5m), CSAT (1h) in percent, the median resolution time
    (1h) in minutes and orders (5m)."""
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


STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


class _Stop(Exception):
    """SIGTERM or SIGHUP, turned into an exception like Ctrl-C's KeyboardInterrupt."""


def _raise_stop(signum: int, frame: object) -> None:
    raise _Stop()


@dataclass
class Child:
    """A child process the demo started: its component `name` (as the stack's state file records
    it), the process (in a session of its own), and the log file its output goes to."""

    name: str
    popen: subprocess.Popen
    log_path: Path

    @property
    def running(self) -> bool:
        """Whether the process has not exited yet."""
        return self.popen.poll() is None

    def stop(self, sig: int = signal.SIGTERM, timeout_seconds: float = STOP_TIMEOUT_SECONDS) -> None:
        """Stop the child's whole process group with `sig`, wait up to `timeout_seconds`, then
        SIGKILL it and wait up to 10 s; nothing if it has already exited."""
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
    from streams.stack.process import die_with_parent

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
            preexec_fn=die_with_parent(CLIENT_DEATH_SIGNAL),  # noqa: PLW1509 - one prctl call
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


def _status(url: str, timeout: float = 5.0) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except (OSError, urllib.error.URLError):
        return None


def say(message: str) -> None:
    """Print, unless the terminal is gone (SIGHUP): the clean-up must go on regardless."""
    try:
        print(message, flush=True)
    except (OSError, ValueError):
        pass


@dataclass
class Demo:
    """One demo run: the stack settings, the parsed flags, the stack components this run started
    (stopped again at the end; those already running are left), the worker and generator
    children, and the alert receiver (None when its address was taken)."""

    settings: StackSettings
    args: argparse.Namespace
    started_components: list[str] = field(default_factory=list)
    children: list[Child] = field(default_factory=list)
    receiver: AlertReceiver | None = None
    receiver_note: str = ""

    @property
    def demo_dir(self) -> Path:
        """Where the demo's logs go: a folder under the stack's state directory."""
        from streams.stack.control import DEMO_DIR_NAME

        return Path(self.settings.state_dir).resolve() / DEMO_DIR_NAME

    def say(self, message: str) -> None:
        """Print one line for the user (never raises: see the module's `say`)."""
        say(message)

    def run(self) -> int:
        """Start everything (stack, alert receiver, worker, warm-up when the topics are empty,
        live generator), print the links, then watch until the worker stops: 0 when it was
        stopped by `kpi-monitor stack down`. Raises `StackError` when a component cannot start
        and the module's failure error when the worker exits or is not ready in time (with the
        end of its log); Ctrl-C reaches the caller as KeyboardInterrupt."""
        from streams.generator.timefmt import parse_cli_duration_seconds
        from streams.stack.control import DEMO_GENERATOR, DEMO_WORKER, stack_up
        from streams.stack.ports import PortClaim, ensure_ports_free
        from streams.stack.process import tie_children_to_this_process
        from streams.stack.topics import count_records

        args = self.args
        warmup_seconds = parse_cli_duration_seconds(args.warmup)
        host, _, port_text = self.settings.worker_metrics_address.rpartition(":")
        host = host or "127.0.0.1"
        worker_port = int(port_text)
        # Fail before anything starts if a worker (e.g. `make run`) already holds the port.
        ensure_ports_free([PortClaim(worker_port, "worker metrics", "--worker-metrics-address or KPI_STACK_WORKER_METRICS_ADDRESS", host)])

        # What this demo starts dies with it, however it dies (streams/stack/process.py).
        tie_children_to_this_process(SERVER_DEATH_SIGNAL)
        self.receiver_note = self._start_receiver()
        statuses = stack_up(self.settings, progress=lambda m: print(f"  {m}", file=sys.stderr, flush=True))
        self.started_components = [s.name for s in statuses if s.started_now]
        endpoints = {s.name: s.endpoints for s in statuses}
        bootstrap = endpoints["kafka"]["bootstrap"]
        prometheus_url = endpoints["prometheus"]["url"]
        alertmanager_url = endpoints["alertmanager"]["url"]

        # Events an earlier run left in the topics: the worker continues from them (its
        # checkpoints, same app id), so a warm-up on top would double every number.
        earlier_events = count_records(bootstrap)
        if earlier_events:
            self.say(f"continuing: the topics already hold {earlier_events:,} events from an earlier run; the worker "
                     "picks up from them, so no warm-up is sent (for a clean start: `kpi-monitor stack down "
                     "--wipe-data`, then the demo again)")
            warmup_seconds = 0
        elif warmup_seconds > 0:
            self.say("starting clean: the topics are empty")

        metrics_url = f"http://{host}:{worker_port}/metrics"
        worker = self._start("worker", DEMO_WORKER, [sys.executable, "-m", "streams.cli", "worker"], "worker.log", {
            "KPI_KAFKA__BOOTSTRAP_SERVERS": bootstrap,
            "KPI_WEB__HOST": host,
            "KPI_WEB__PORT": str(worker_port),
            "KPI_EVALUATION_INTERVAL": args.evaluation_interval,
            "KPI_GRACE": f"{worker_grace_seconds(warmup_seconds)}s",
            "KPI_APP_ID": WORKER_APP_ID,
            "KPI_DATA_DIR": str(self.demo_dir / "worker-data"),
            # After a killed demo, the next one's worker waits this long for the dead one's
            # partitions: keep it short on a one-worker laptop setup (default 30s).
            "KPI_KAFKA__SESSION_TIMEOUT": DEMO_SESSION_TIMEOUT,
        }, endpoints={"url": metrics_url})
        self._wait_worker(worker, metrics_url)

        seed = args.seed if args.seed is not None else int.from_bytes(os.urandom(3), "big")
        warmup_events = 0
        if warmup_seconds > 0:
            self.say(f"warm-up: sending the last {args.warmup} of simulated traffic at {args.rate:g} events/s as a burst ...")
            start = time.time() - warmup_seconds
            burst = self._start("warm-up generator", DEMO_GENERATOR, warmup_argv(
                sys.executable, bootstrap, start_seconds=start, warmup=args.warmup, rate=args.rate, seed=seed,
            ), "generator.log")
            code = burst.popen.wait()
            if code != 0:
                raise _Failure(f"the warm-up generator exited with {code}; last lines of {burst.log_path}:\n{_tail(burst.log_path)}")
            warmup_events = int(args.rate * warmup_seconds)
        live = self._start("generator", DEMO_GENERATOR, live_argv(
            sys.executable, bootstrap, duration=args.duration, rate=args.rate, seed=seed + 1,
        ), "generator.log")

        stack_note = (
            "the stack too (this demo started it)" if set(self.started_components) == {"kafka", "alertmanager", "prometheus"}
            else f"{', '.join(self.started_components)} too (this demo started them); the rest of the stack was already running and stays up"
            if self.started_components
            else "nothing else: the stack was already running and stays up (`kpi-monitor stack down` stops it)"
        )
        prefix = prometheus_page_prefix(prometheus_url)
        self.say("")
        self.say("kpi-monitor demo is running; live numbers move within a minute")
        for label, url in demo_links(metrics_url=metrics_url, prometheus_url=prometheus_url,
                                     alertmanager_url=alertmanager_url, prefix=prefix):
            self.say(f"  {label:<14} {url}")
        self.say(f"  {'alert receiver':<14} {self.receiver_note}")
        self.say(f"  {'kafka':<14} {bootstrap}")
        self.say(f"  {'events':<14} {args.rate:g}/s live for {args.duration}"
                 + (f", after a warm-up burst of ~{warmup_events:,} ({args.warmup} simulated)" if warmup_events else "")
                 + f"; seed {seed}")
        self.say(f"  {'logs':<14} {worker.log_path}, {live.log_path}")
        self.say(f"Ctrl-C stops the generator, the worker and {stack_note}.")
        self.say("")
        return self._watch(worker, live, metrics_url)

    def _start_receiver(self) -> str:
        """Start the alert receiver on the stack's webhook address; what to print about it."""
        from streams.stack.alert_receiver import AlertReceiver

        url = urllib.parse.urlsplit(self.settings.alert_webhook_url)
        if url.hostname not in LOCAL_HOSTS or url.port is None:
            return f"none: Alertmanager sends alerts to {self.settings.alert_webhook_url}"
        try:
            self.receiver = AlertReceiver(url.hostname, url.port, emit=say).start()
        except OSError as exc:
            return (f"none: {url.hostname}:{url.port} is taken ({exc.strerror}); alerts go to whatever listens there "
                    "(--alert-webhook-url moves it)")
        return f"{self.settings.alert_webhook_url}: each alert Alertmanager sends is printed here as it arrives"

    def _start(self, name: str, record_name: str, argv: list[str], log_name: str, env: dict[str, str] | None = None,
               endpoints: dict[str, str] | None = None) -> Child:
        """Spawn a child and record it in the stack's state, so `kpi-monitor stack down` stops it too."""
        import psutil

        from streams.stack.state import ComponentRecord, StackState

        child = _spawn(name, argv, self.demo_dir / log_name, env)
        self.children.append(child)
        state = StackState(self.settings.state_dir)
        with state.locked():
            state.put(ComponentRecord(
                name=record_name, pid=child.popen.pid, create_time=psutil.Process(child.popen.pid).create_time(),
                argv=argv, log_paths=[str(child.log_path)], endpoints=endpoints or {},
            ))
        return child

    def _stopped_by_stack_down(self) -> bool:
        """True when `kpi-monitor stack down` took the worker's record away (and stopped it).

        Read under the state lock: `stack down` holds it while it stops the worker and then
        forgets its record, so an unlocked read can see the worker gone but its record still there.
        """
        from streams.stack.control import DEMO_WORKER
        from streams.stack.state import StackState

        with StackState(self.settings.state_dir).locked() as state:
            return DEMO_WORKER not in state.load()

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
                if self._stopped_by_stack_down():
                    self.say("the worker was stopped by `kpi-monitor stack down`")
                    return 0
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
        from streams.stack.control import DEMO_COMPONENTS
        from streams.stack.state import StackState

        for child in reversed(self.children):
            if child.running:
                self.say(f"  stopping {child.name} (pid {child.popen.pid})")
            child.stop(signal.SIGINT if "generator" in child.name else signal.SIGTERM)
        if self.children:
            state = StackState(self.settings.state_dir)
            with state.locked():
                for name in DEMO_COMPONENTS:
                    state.forget(name)
        if self.started_components:
            self._stop_stack_components()
        if self.receiver is not None:
            self.receiver.stop()

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
    """`kpi-monitor demo`'s entry point: check the flags (2 on a bad one, named on stderr), run
    the demo, and stop whatever it started however it ends (Ctrl-C, SIGTERM, SIGHUP or an error).
    Returns 0, or 1 after a printed error."""
    from pydantic import ValidationError

    from streams.generator.timefmt import parse_cli_duration_seconds
    from streams.stack.errors import StackError

    if not args.rate > 0:
        print("kpi-monitor demo: error: --rate must be positive", file=sys.stderr)
        return EXIT_BAD_SETTINGS
    for flag, value in (("--warmup", args.warmup), ("--duration", args.duration),
                        ("--evaluation-interval", args.evaluation_interval)):
        try:
            if parse_cli_duration_seconds(value) < 0 or (flag != "--warmup" and parse_cli_duration_seconds(value) == 0):
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
    # (an ignored signal stays ignored across exec; a handled one does not). SIGTERM and
    # SIGHUP (the terminal was closed) stop it exactly as Ctrl-C does.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    previous = {sig: signal.signal(sig, _raise_stop) for sig in STOP_SIGNALS}
    status = 0
    try:
        status = demo.run()
    except (KeyboardInterrupt, _Stop):
        status = 0
    except (StackError, _Failure) as exc:
        try:
            print(f"kpi-monitor demo: error: {exc}", file=sys.stderr)
        except OSError:
            pass
        status = EXIT_FAILED
    finally:
        # A second Ctrl-C (or the SIGHUP a closing terminal sends after SIGINT) must not
        # cut the clean-up short and leave processes behind.
        for sig in (signal.SIGINT, *STOP_SIGNALS):
            signal.signal(sig, signal.SIG_IGN)
        try:
            say("\nstopping the demo ...")
            demo.stop()
            say("demo stopped; nothing it started is running")
        finally:
            signal.signal(signal.SIGINT, signal.default_int_handler)
            for sig, handler in previous.items():
                signal.signal(sig, handler)
    return status
