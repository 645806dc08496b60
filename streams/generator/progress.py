"""Progress line while running and the summary printed at the end."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, TextIO

from streams.generator.faults import FaultCounts
from streams.generator.timefmt import format_rfc3339_ms


@dataclass
class RunSummary:
    """What a generator run wrote: records in total, per topic and per event type, the
    injected faults, the simulated span (epoch seconds) and the wall time it took."""

    records: int
    elapsed_seconds: float
    start_seconds: float
    end_seconds: float  # simulated clock when the run stopped
    seed: int
    destination: str
    faults_requested: bool
    faults: FaultCounts
    records_by_topic: dict[str, int] = field(default_factory=dict)
    events_by_type: dict[str, int] = field(default_factory=dict)
    simulation: dict[str, int] = field(default_factory=dict)
    interrupted: bool = False

    @property
    def records_per_second(self) -> float:
        """Records written per second of wall time (0.0 for a run that took no measurable time)."""
        return self.records / self.elapsed_seconds if self.elapsed_seconds > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        """The summary as JSON-ready values (what `--summary-json` writes): counts, wall time and
        rate rounded (ms, 0.1 record/s), the simulated span in epoch seconds, the seed and
        destination, faults, the simulation's counters."""
        return {
            "records": self.records,
            "elapsed_seconds": round(self.elapsed_seconds, 3),
            "records_per_second": round(self.records_per_second, 1),
            "start_seconds": self.start_seconds,
            "end_seconds": self.end_seconds,
            "seed": self.seed,
            "destination": self.destination,
            "records_by_topic": self.records_by_topic,
            "events_by_type": self.events_by_type,
            "faults": self.faults.as_dict(),
            "simulation": self.simulation,
            "interrupted": self.interrupted,
        }


class Progress:
    """One status line on a terminal, redrawn at most every `interval_seconds`.

    Disabled (but harmless to call) when not wanted, so the runner never has
    to ask.
    """

    def __init__(
        self,
        stream: TextIO,
        *,
        enabled: bool,
        start_seconds: float,
        count: int | None = None,
        duration_seconds: float | None = None,
        interval_seconds: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._stream = stream
        self.enabled = enabled
        self._start_seconds = start_seconds
        self._count = count
        self._duration_seconds = duration_seconds
        self._interval_seconds = interval_seconds
        self._monotonic = monotonic
        self._began = monotonic()
        self._next_draw = self._began + interval_seconds
        self._last_width = 0

    def update(self, records: int, clock_seconds: float) -> None:
        """Redraw the progress line for `records` written and the simulated clock
        `clock_seconds`, at most once per redraw interval; nothing when disabled (not a terminal,
        or --quiet)."""
        if not self.enabled:
            return
        now = self._monotonic()
        if now < self._next_draw:
            return
        self._next_draw = now + self._interval_seconds
        self._draw(self.line(records, clock_seconds, now - self._began))

    def line(self, records: int, clock_seconds: float, elapsed_seconds: float) -> str:
        """The progress text: records written, percent done (of --count, else of --duration's
        simulated span), records per second over `elapsed_seconds` of wall time, and the
        simulated clock as RFC 3339."""
        parts = [f"generate: {records:,} records"]
        if self._count:
            parts.append(f"{100.0 * records / self._count:5.1f}%")
        elif self._duration_seconds:
            done = (clock_seconds - self._start_seconds) / self._duration_seconds
            parts.append(f"{100.0 * min(max(done, 0.0), 1.0):5.1f}%")
        if elapsed_seconds > 0:
            parts.append(f"{records / elapsed_seconds:,.0f} records/s")
        parts.append(f"at {format_rfc3339_ms(clock_seconds)}")
        return "  ".join(parts)

    def close(self) -> None:
        """Erase the status line so the summary starts on a clean line."""
        if self.enabled and self._last_width:
            self._stream.write("\r" + " " * self._last_width + "\r")
            self._stream.flush()
            self._last_width = 0

    def _draw(self, text: str) -> None:
        pad = max(0, self._last_width - len(text))
        self._stream.write("\r" + text + " " * pad)
        self._stream.flush()
        self._last_width = len(text)


def format_summary(summary: RunSummary) -> list[str]:
    """Human-readable end-of-run lines: totals, then faults if any were asked for."""
    simulated = summary.end_seconds - summary.start_seconds
    lines = [
        f"generated {summary.records:,} records to {summary.destination} "
        f"in {summary.elapsed_seconds:.1f} s ({summary.records_per_second:,.0f} records/s); "
        f"ts {format_rfc3339_ms(summary.start_seconds)} .. {format_rfc3339_ms(summary.end_seconds)} "
        f"({_human_duration(simulated)} simulated); seed {summary.seed}"
        + ("; interrupted" if summary.interrupted else "")
    ]
    not_opened = summary.simulation.get("tickets_not_opened", 0)
    expired = summary.simulation.get("tickets_expired", 0)
    if not_opened or expired:
        lines.append(
            f"open-ticket cap reached: {not_opened:,} tickets not opened, "
            f"{expired:,} stale tickets auto-closed (raise --max-open-tickets or lower --rate)"
        )
    faults = summary.faults
    if summary.faults_requested:
        by_kind = ", ".join(f"{k}={v:,}" for k, v in faults.malformed.items() if v)
        lines.append(
            f"faults: duplicate={faults.duplicate:,} late={faults.late:,} "
            f"out_of_order={faults.out_of_order:,} malformed={faults.malformed_total:,}"
            + (f" ({by_kind})" if by_kind else "")
            + (f"; kept in order behind them={faults.kept_in_order:,}" if faults.kept_in_order else "")
            + (f"; held back, not written at stop={faults.held_at_end:,}" if faults.held_at_end else "")
            + (
                f"; not injected, buffer full={faults.skipped_buffer_full:,}"
                if faults.skipped_buffer_full
                else ""
            )
        )
    return lines


def _human_duration(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 120:
        return f"{seconds:.1f} s"
    minutes, _ = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days}d{hours:02d}h{minutes:02d}m"
    return f"{hours}h{minutes:02d}m"
