"""Replay: lines of a JSONL event file in, KPI rows per closed window out.

No file handling here: callers pass an iterable of raw lines, so the same loop serves
files, stdin and tests. `replay` runs one engine over every line. A parallel replay runs
`replay_partition` once per partition (each over every line, keeping only its own events)
and combines their closed windows with a `WindowMerger`.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from kpi.config import EngineConfig
from kpi.contract import Event, Rejected
from kpi.engine import Engine
from kpi.formulas import kpi_rows
from kpi.merge import merge_and_cap
from kpi.partitions import partition_of
from kpi.series import WindowView


@dataclass(frozen=True, slots=True)
class WindowRow:
    """One line of replay output: a KPI's value in the window [start, end) (seconds since
    the Unix epoch) for one label set ({} overall); None where the KPI is undefined."""

    kpi: str
    window_start_seconds: int
    window_end_seconds: int
    labels: dict[str, str]
    value: float | int | None


def replay(
    lines: Iterable[bytes],
    config: EngineConfig,
    on_reject: Callable[[Rejected], None] | None = None,
) -> tuple[Iterator[WindowRow], Engine]:
    """Return (rows, engine). Rows stream out as windows close; engine.stats has the summary."""
    engine = Engine(config)
    return _rows(lines, engine, on_reject), engine


def _rows(lines: Iterable[bytes], engine: Engine, on_reject: Callable[[Rejected], None] | None) -> Iterator[WindowRow]:
    # Compiled with mypyc (setup.py): engine.process_raw(...) written out, not a bound-method
    # local, is a direct native call.
    for line in lines:
        # Blank lines are not events. An event line starts with "{"; only other lines pay
        # for the strip (a copy of the line).
        if not line or (line[0] != 123 and not line.strip()):
            continue
        outcome = engine.process_raw(line)
        if type(outcome) is Rejected and on_reject is not None:
            on_reject(outcome)
        if engine.has_closed:
            yield from rows_of(closed_views(engine))
    engine.flush()
    yield from rows_of(closed_views(engine))


def closed_views(engine: Engine) -> Iterator[WindowView]:
    """The windows the engine has closed since the last call, oldest first."""
    for closed in engine.drain_closed():
        yield closed.view()


def rows_of(views: Iterable[WindowView]) -> Iterator[WindowRow]:
    """The replay rows of each view in turn (`kpi.formulas.kpi_rows` order)."""
    for view in views:
        for kpi, labels, value in kpi_rows(view):
            yield WindowRow(kpi, view.start_seconds, view.end_seconds, labels, value)


def replay_partition(
    lines: Iterable[bytes],
    config: EngineConfig,
    partition: int,
    partitions: int,
    on_reject: Callable[[Rejected], None] | None = None,
) -> tuple[Iterator[WindowView], Engine]:
    """One part of a replay split like Kafka topics (`kpi.partitions`): (views, engine).

    Every line is decoded, to route it; only the events of `partition` reach the engine.
    The views are this partition's closed windows up to the end of `lines`. The caller
    then calls `engine.flush(w)` with the latest event time `w` of all partitions and takes
    the rest from `closed_views(engine)`, so that every partition closes the same windows.
    """
    engine = Engine(config)
    return _partition_views(lines, engine, partition, partitions, on_reject), engine


def _partition_views(
    lines: Iterable[bytes], engine: Engine, partition: int, partitions: int, on_reject: Callable[[Rejected], None] | None,
) -> Iterator[WindowView]:
    decoder = engine.decoder
    for line in lines:
        if not line or (line[0] != 123 and not line.strip()):
            continue
        typed = decoder.typed(line)
        if typed is not None:
            if partition_of(typed, partitions) != partition:
                continue
            # Only the owner pays for the rest of the decoding (the timestamp, the currency).
            outcome = engine.process_decoded(line, decoder.complete(line, typed))
        else:
            decoded = decoder.decode_slow(line)
            # A rejected line has no trustworthy key: partition 0 reports it, once.
            owner = partition_of(decoded.body, partitions) if isinstance(decoded, Event) else 0
            if owner != partition:
                continue
            outcome = engine.process_decoded(line, decoded)
        if type(outcome) is Rejected and on_reject is not None:
            on_reject(outcome)
        if engine.has_closed:
            yield from closed_views(engine)


class WindowMerger:
    """Closed windows of N partitions in; windows of the whole stream out, oldest first.

    A window is complete once every partition has closed it: partitions close windows in
    order and without gaps, so that is when each has closed a window at least as late, or
    has finished. A partition that has closed nothing yet (no events of its own so far)
    holds every window back until it closes one or finishes.
    """

    def __init__(self, partitions: int, config: EngineConfig) -> None:
        """`partitions`: how many partitions add views (numbered 0 .. partitions - 1);
        `config`: the label cap and allow-lists the merged windows are capped with."""
        self._pending: dict[int, list[WindowView]] = {}
        self._starts: list[int] = []  # heap of the pending window starts
        self._closed_through = [-math.inf] * partitions  # window start, per partition
        self._config = config

    def add(self, partition: int, view: WindowView) -> None:
        """A window `partition` has closed (its windows arrive in order)."""
        views = self._pending.get(view.start_seconds)
        if views is None:
            views = self._pending[view.start_seconds] = []
            heapq.heappush(self._starts, view.start_seconds)
        views.append(view)
        self._closed_through[partition] = max(self._closed_through[partition], view.start_seconds)

    def finish(self, partition: int) -> None:
        """`partition` will close no more windows."""
        self._closed_through[partition] = math.inf

    @property
    def pending_windows(self) -> int:
        """Windows some partitions have closed and others not yet."""
        return len(self._pending)

    def ready(self) -> Iterator[WindowView]:
        """The windows every partition has closed, merged; each is returned once."""
        through = min(self._closed_through)
        while self._starts and self._starts[0] <= through:
            start = heapq.heappop(self._starts)
            # Each partition capped its own label values; together they may exceed the cap.
            merged = merge_and_cap({start: self._pending.pop(start)}, self._config.max_label_values, self._config.label_allow)
            yield merged.views[start]
