"""A worker's shutdown always finishes: within `shutdown_timeout`, or at once on a second signal.

With the brokers away, Faust's graceful stop waits on Kafka at several places
(faust-streaming 0.15.3, aiokafka 0.14.0, mode-streaming 0.7.1):

- `App.on_stop` sends `on_before_shutdown`: the final checkpoint, queued behind a checkpoint
  already running, each waiting up to half the session timeout (streams/worker/checkpoints.py);
- then `App._producer_flush` ("Flush producer buffer..."): aiokafka's
  `MessageAccumulator.flush` waits until every batch is acknowledged or expires, after
  `producer_request_timeout` (Faust's default: 20 min). This is where it hung for good;
- after it, `AIOKafkaProducer.stop` waits for the same batches again, and the consumer's
  `GroupCoordinator.close` may wait for its coordination task and a LeaveGroup request;
- mode's `Worker` ignores every signal after the first, so nothing interrupts those waits.

Rather than patch each of them (and whatever the next release adds), the graceful stop runs
under `ShutdownWatchdog`, a daemon thread armed by the first signal (or by any other stop):
past the deadline it logs what was left unwritten (`Leftovers`) and ends the process with
`os._exit(EXIT_SHUTDOWN_TIMED_OUT)`. A second SIGINT or SIGTERM ends it at once with 128 +
the signal number. Ending early loses nothing committed: offsets are committed only after
the checkpoint that holds their state, so the next start resumes every partition from its
last checkpoint and re-reads the records after it. A thread, not an event-loop timer: the
deadline holds even if the loop or the interpreter's exit (joining Faust's consumer thread)
is what hangs.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from types import FrameType
from typing import Any, NoReturn

import faust

from streams.worker.checkpoints import checkpoint_key
from streams.worker.logs import RateLimitFilter

log = logging.getLogger("kpi_monitor.worker")

# Exit codes of `kpi-monitor worker` (docs/operations.md#exit-codes); 1 is a crash (mode's
# Worker), 2 invalid configuration, 3 Kafka unusable at start (streams/commands/worker.py).
EXIT_SHUTDOWN_TIMED_OUT = 4
SIGNAL_EXIT_BASE = 128  # a second signal exits with 128 + its number, as a shell reports a signal death


class AckTracker:
    """A `RecordSender` that remembers which record keys were sent but not acknowledged.

    Wraps the checkpoint store's sender, so that a shutdown cut short in the middle of a
    checkpoint write still counts that partition as not written.
    """

    def __init__(self, sender: Any) -> None:
        self._sender = sender
        self.unacknowledged: set[bytes] = set()

    async def send_and_wait(self, topic: str, key: bytes, value: bytes) -> None:
        """As the wrapped sender's; the key stays unacknowledged if it raises or is cancelled."""
        self.unacknowledged.add(key)
        await self._sender.send_and_wait(topic, key, value)
        self.unacknowledged.discard(key)


def unsent_records(app: faust.App) -> Counter:
    """Records handed to the app's producer and not yet acknowledged by a broker, per topic:
    Faust's send_soon buffer plus aiokafka's accumulated batches. Empty before the producer
    exists. Reads private attributes (checked with the versions above), so any surprise
    gives an empty count rather than an error in the middle of a shutdown."""
    counts: Counter = Counter()
    producer = getattr(app, "_producer", None)
    if producer is None:
        return counts
    try:
        for future in list(producer.buffer.pending._queue):  # noqa: SLF001
            counts[future.message.channel.get_topic_name()] += 1
        accumulator = getattr(getattr(producer, "_producer", None), "_message_accumulator", None)
        if accumulator is not None:
            batches = [b for queue in list(accumulator._batches.values()) for b in list(queue)]  # noqa: SLF001
            for batch in [*batches, *list(accumulator._pending_batches)]:  # noqa: SLF001
                counts[batch.tp.topic] += batch.record_count
    except Exception:  # noqa: BLE001 - diagnostics only
        return Counter()
    return counts


class Leftovers:
    """What a shutdown cut short leaves unwritten, in one line for the log.

    `dirty_partitions()` (partitions changed since their last checkpoint), `acks` (the
    checkpoint writes in flight), `unsent()` (records in the producer, per topic), `nouns`
    (topic -> what its records are, e.g. "dead letters"; topics not named are "records" and
    the checkpoint topic is left out: it is counted by partition). `durable` False:
    checkpoints are never written (the stock agent path), so none are missing.
    """

    def __init__(
        self,
        dirty_partitions: Callable[[], Iterable[tuple[str, int]]],
        acks: AckTracker,
        unsent: Callable[[], Counter],
        nouns: dict[str, str],
        checkpoint_topic: str,
        durable: bool = True,
    ) -> None:
        self._dirty = dirty_partitions
        self._acks = acks
        self._unsent = unsent
        self._nouns = nouns
        self._checkpoint_topic = checkpoint_topic
        self._durable = durable

    def unwritten_checkpoints(self) -> int:
        """Partitions whose newest state is in no acknowledged checkpoint."""
        if not self._durable:
            return 0
        return len({checkpoint_key(tp) for tp in list(self._dirty())} | set(self._acks.unacknowledged))

    def describe(self) -> str:
        """E.g. "not written: checkpoints of 16 partitions; not sent: 12 dead letters, 1 partials",
        or "everything written"."""
        try:
            parts = []
            checkpoints = self.unwritten_checkpoints()
            if checkpoints:
                parts.append(f"not written: checkpoints of {checkpoints} partitions")
            unsent: Counter = Counter()
            for topic, n in self._unsent().items():
                if topic != self._checkpoint_topic:
                    unsent[self._nouns.get(topic, "records")] += n
            if unsent:
                parts.append("not sent: " + ", ".join(f"{n} {what}" for what, n in sorted(unsent.items())))
            return "; ".join(parts) or "everything written"
        except Exception as exc:  # noqa: BLE001 - a shutdown must not fail on its own report
            return f"(could not tell what is left: {type(exc).__name__}: {exc})"


class ShutdownWatchdog:
    """Ends the process once a shutdown has taken `timeout_seconds`, or at once on `exit_now`.

    `leftovers()` describes what is left (one line, `Leftovers.describe`); `exit` ends the
    process (`os._exit`, injectable for tests) after the log handlers are flushed.
    """

    def __init__(
        self,
        timeout_seconds: float,
        leftovers: Callable[[], str],
        exit: Callable[[int], Any] = os._exit,  # noqa: A002 - what it is
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.timeout_seconds = timeout_seconds
        self._leftovers = leftovers
        self._exit = exit
        self._clock = clock
        self._lock = threading.Lock()
        self.deadline: float | None = None

    def arm(self, why: str) -> None:
        """Start the clock (once; later calls do nothing): `why` the worker is stopping."""
        with self._lock:
            if self.deadline is not None:
                return
            self.deadline = self._clock() + self.timeout_seconds
        log.info("stopping (%s): at most %g s (shutdown_timeout); a second SIGINT or SIGTERM exits at once", why, self.timeout_seconds)
        threading.Thread(target=self._wait_then_exit, name="shutdown-watchdog", daemon=True).start()

    def remaining_seconds(self) -> float | None:
        """Seconds left until the deadline (not below 0); None before `arm`."""
        return None if self.deadline is None else max(0.0, self.deadline - self._clock())

    def _wait_then_exit(self) -> None:
        remaining = self.remaining_seconds()
        while remaining:
            time.sleep(remaining)
            remaining = self.remaining_seconds()
        log.error(
            "shutdown did not finish within %g s: %s. Exiting with code %d; nothing committed is lost: "
            "the next start resumes each partition from its last checkpoint",
            self.timeout_seconds, self._leftovers(), EXIT_SHUTDOWN_TIMED_OUT,
        )
        self._end(EXIT_SHUTDOWN_TIMED_OUT)

    def exit_now(self, signum: int) -> NoReturn:
        """A second signal: one log line, then exit with 128 + `signum`."""
        code = SIGNAL_EXIT_BASE + signum
        log.warning(
            "%s during shutdown: exiting at once with code %d; %s; the next start resumes from the last checkpoints",
            signal.Signals(signum).name, code, self._leftovers(),
        )
        self._end(code)
        raise SystemExit(code)  # only reached with a fake `exit`

    def _end(self, code: int) -> None:
        for handler in logging.getLogger().handlers:
            try:
                handler.flush()
            except Exception:  # noqa: BLE001, S110 - exiting regardless
                pass
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:  # noqa: BLE001, S110
                pass
        self._exit(code)


class BoundedWorker(faust.Worker):
    """Faust's worker with a bounded shutdown and bounded logs.

    The first SIGINT/SIGTERM (or any other stop) arms `watchdog`; from then on SIGINT and
    SIGTERM call `watchdog.exit_now`, as plain signal handlers rather than event-loop
    callbacks, so they work while the loop is stuck or already closed. `log_filter` is
    installed on the handlers mode's logging setup creates.
    """

    def __init__(self, app: faust.App, *, watchdog: ShutdownWatchdog, log_filter: RateLimitFilter | None = None, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self.watchdog = watchdog
        self.log_filter = log_filter

    def on_setup_root_logger(self, logger: logging.Logger, level: int) -> None:
        """mode replaced the root handlers: put the rate limit on the new ones."""
        super().on_setup_root_logger(logger, level)
        if self.log_filter is not None:
            self.log_filter.install(logger)

    def _schedule_shutdown(self, signum: signal.Signals) -> None:
        if not self._signal_stop_time:
            self.watchdog.arm(f"{signum.name} received")
            for sig in (signal.SIGINT, signal.SIGTERM):
                self.loop.remove_signal_handler(sig)
                signal.signal(sig, self._on_second_signal)
        super()._schedule_shutdown(signum)

    def _on_second_signal(self, signum: int, frame: FrameType | None) -> None:
        self.watchdog.exit_now(signum)

    def on_worker_shutdown(self) -> None:
        """Every way out of the worker (a crash too) runs under the watchdog."""
        self.watchdog.arm("the worker stopped")
        super().on_worker_shutdown()
