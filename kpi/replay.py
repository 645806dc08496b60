"""Replay: lines of a JSONL event file in, KPI rows per closed window out.

No file handling here: callers pass an iterable of raw lines, so the same loop serves
files, stdin and tests.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from kpi.config import EngineConfig
from kpi.contract import Rejected
from kpi.engine import Engine
from kpi.formulas import kpi_rows
from kpi.series import Series


@dataclass(frozen=True, slots=True)
class WindowRow:
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
    process = engine.process_raw
    for line in lines:
        # Blank lines are not events. An event line starts with "{"; only other lines pay
        # for the strip (a copy of the line).
        if not line or (line[0] != 123 and not line.strip()):
            continue
        outcome = process(line)
        if type(outcome) is Rejected and on_reject is not None:
            on_reject(outcome)
        if engine._closed:
            yield from _window_rows(engine)
    engine.flush()
    yield from _window_rows(engine)


def _window_rows(engine: Engine) -> Iterator[WindowRow]:
    for series, index, bucket, end in engine.drain_closed():
        view = Series.closed_view(index, series.size_seconds, bucket, end)
        for kpi, labels, value in kpi_rows(view):
            yield WindowRow(kpi, view.start_seconds, view.end_seconds, labels, value)
