"""`kpi-monitor replay --jobs N`: one process per partition, windows merged in the parent.

Each process reads and parses the whole file but feeds its engine only the events of its
partition (`kpi.partitions`: tickets by ticket_id, the rest by customer_id, as in Kafka),
so the per-event work is split N ways while parsing is not. The parent merges the closed
windows of all partitions (`kpi.replay.WindowMerger`) and yields rows in window order.

Protocol, child to parent over a pipe: ("views", [encoded view, ...]), ("rejects",
[(line, reason, detail, raw), ...]), ("lines", n), ("eof", watermark), then, after the
parent has answered every "eof" with the latest event time of all partitions,
("views", ...) and ("done", totals); ("error", message) on failure.
"""

from __future__ import annotations

import math
import multiprocessing as mp
import os
import stat
import traceback
from collections.abc import Callable, Iterable, Iterator
from multiprocessing.connection import Connection, wait

from kpi.config import EngineConfig
from kpi.contract import Rejected
from kpi.engine import Stats
from kpi.replay import WindowMerger, WindowRow, closed_views, replay_partition, rows_of
from kpi.state import add_stats, decode_view, encode_stats, encode_view

# Lines between progress reports and dead-letter batches; also bounds a batch's size.
REPORT_EVERY_LINES = 65_536
MAX_REJECTS_PER_BATCH = 4_096


class ReplayJobError(RuntimeError):
    """A replay process failed (unreadable file, or a crash); the message says which and why."""


class ParallelTotals:
    """What a parallel replay counted, complete once its rows are exhausted."""

    def __init__(self) -> None:
        self.stats = Stats()
        self.lines = 0


def replay_parallel(
    path: str,
    config: EngineConfig,
    jobs: int,
    on_reject: Callable[[Rejected, int], None] | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> tuple[Iterator[WindowRow], ParallelTotals]:
    """Rows of `path` computed by `jobs` processes; `on_reject(rejected, line_number)`."""
    totals = ParallelTotals()
    return _run(path, config, jobs, on_reject, on_progress, totals), totals


def can_fork() -> bool:
    """The processes must be forked: routing uses str hashes, salted per interpreter, which
    forked children share with their parent (and spawned ones would not)."""
    return "fork" in mp.get_all_start_methods()


def usable_cores() -> int:
    sched_getaffinity = getattr(os, "sched_getaffinity", None)  # Linux only
    return len(sched_getaffinity(0)) if sched_getaffinity is not None else os.cpu_count() or 1


def splittable(path: str) -> str | None:
    """Why `path` cannot be replayed by several processes, or None if it can."""
    if path == "-":
        return "stdin can be read only once"
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return f"{path} is not a regular file (a pipe or device can be read only once)"
    except OSError:
        return None  # the caller's open() reports the problem
    if not can_fork():
        return "this platform cannot fork processes"
    return None


def _run(
    path: str,
    config: EngineConfig,
    jobs: int,
    on_reject: Callable[[Rejected, int], None] | None,
    on_progress: Callable[[int], None] | None,
    totals: ParallelTotals,
) -> Iterator[WindowRow]:
    ctx = mp.get_context("fork")
    conns: list[Connection] = []
    procs = []
    try:
        for i in range(jobs):
            parent_end, child_end = ctx.Pipe()
            proc = ctx.Process(
                target=_child, args=(child_end, path, config, i, jobs, on_reject is not None),
                name=f"kpi-replay-{i}", daemon=True,
            )
            proc.start()
            child_end.close()
            conns.append(parent_end)
            procs.append(proc)
        merger = WindowMerger(jobs, config)
        watermarks: dict[int, float] = {}
        running = set(range(jobs))
        while running:
            for conn in wait([conns[i] for i in running]):
                i = conns.index(conn)  # type: ignore[arg-type]
                try:
                    kind, payload = conn.recv()  # type: ignore[union-attr]
                except EOFError:
                    raise ReplayJobError(f"replay process {i} exited unexpectedly (exit code {procs[i].exitcode})") from None
                if kind == "views":
                    for encoded in payload:
                        merger.add(i, decode_view(encoded))
                    yield from rows_of(merger.ready())
                elif kind == "rejects":
                    if on_reject is not None:
                        for line, reason, detail, raw in payload:
                            on_reject(Rejected(reason, detail, raw), line)
                elif kind == "lines":
                    if on_progress is not None:
                        on_progress(payload)
                elif kind == "eof":
                    watermarks[i] = payload
                    if len(watermarks) == jobs:
                        latest = max(watermarks.values())
                        for c in conns:
                            c.send(latest)
                elif kind == "done":
                    add_stats(totals.stats, payload["stats"])
                    totals.lines = payload["lines"]
                    merger.finish(i)
                    running.discard(i)
                    yield from rows_of(merger.ready())
                elif kind == "error":
                    raise ReplayJobError(f"replay process {i}: {payload}")
    finally:
        for proc in procs:
            if proc.is_alive():
                proc.terminate()
            proc.join()
        for conn in conns:
            conn.close()


class CountedLines:
    """Lines, counted (`lines` is the number of the one being processed); `report(count)`
    every REPORT_EVERY_LINES lines, for progress."""

    def __init__(self, source: Iterable[bytes], report: Callable[[int], None]) -> None:
        self.source = source
        self.report = report
        self.lines = 0

    def __iter__(self) -> Iterator[bytes]:
        for line in self.source:
            self.lines += 1
            if not self.lines % REPORT_EVERY_LINES:
                self.report(self.lines)
            yield line


def _child(conn: Connection, path: str, config: EngineConfig, partition: int, partitions: int, dead_letters: bool) -> None:
    try:
        rejects: list[tuple[int, str, str, bytes]] = []

        def send_rejects() -> None:
            if rejects:
                conn.send(("rejects", list(rejects)))
                rejects.clear()

        def report(lines: int) -> None:
            send_rejects()
            if partition == 0:
                conn.send(("lines", lines))

        with open(path, "rb") as file:
            source = CountedLines(file, report)

            def on_reject(rejected: Rejected) -> None:
                rejects.append((source.lines, rejected.reason, rejected.detail, rejected.raw))
                if len(rejects) >= MAX_REJECTS_PER_BATCH:
                    send_rejects()

            views, engine = replay_partition(source, config, partition, partitions, on_reject if dead_letters else None)
            for view in views:
                conn.send(("views", [encode_view(view)]))
        send_rejects()
        conn.send(("eof", engine.watermark.value))
        latest = conn.recv()
        engine.flush(None if math.isinf(latest) else latest)
        conn.send(("views", [encode_view(v) for v in closed_views(engine)]))
        conn.send(("done", {"stats": encode_stats(engine.stats), "lines": source.lines}))
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which fails the replay
        try:
            detail = f"{exc.strerror}: {exc.filename}" if isinstance(exc, OSError) and exc.strerror else f"{type(exc).__name__}: {exc}"
            conn.send(("error", detail if isinstance(exc, OSError) else detail + "\n" + traceback.format_exc()))
        except OSError:
            pass  # the parent is gone
    finally:
        conn.close()


def auto_jobs(path: str, cores: int, size_bytes: int) -> int:
    """--jobs auto: one process for stdin, pipes and small files, else one per core up to 4.

    Every process decodes the whole file, so beyond a few processes the decoding they all
    repeat outweighs the engine work they split.
    """
    if size_bytes < AUTO_MIN_BYTES or splittable(path) is not None:
        return 1
    return max(1, min(cores, AUTO_MAX_JOBS))


AUTO_MIN_BYTES = 32 * 1024 * 1024  # about 250k events of a typical mix
AUTO_MAX_JOBS = 4
