"""The worker's core, free of Faust: raw Kafka records in, engine state and counters out.

Faust agents call `handle()` per record; a timer calls `evaluate()`; the Prometheus
collector reads the latest `Snapshot`. Keeping this separate lets unit tests drive it
directly and keeps the Faust layer a thin adapter.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from kpi import contract
from kpi.contract import Rejected
from kpi.engine import ACCEPTED, DUPLICATE, Engine
from kpi.formulas import kpi_rows
from kpi.series import Series
from kpi.sla import LiveSla, live_sla_state
from streams.settings import Settings


@dataclass(frozen=True, slots=True)
class DeadLetter:
    reason: str
    detail: str
    raw: bytes
    topic: str
    partition: int
    offset: int


@dataclass
class Snapshot:
    """KPI values as of one evaluation; the collector exposes the latest."""

    evaluated_at: float = 0.0
    watermark: float | None = None
    # window name -> rows (kpi, labels, value)
    windows: dict[str, list[tuple[str, dict[str, str], float | int | None]]] = field(default_factory=dict)
    sla: dict[tuple[str, str], LiveSla] = field(default_factory=dict)
    duration_seconds: float = 0.0


class Processor:
    def __init__(
        self,
        settings: Settings,
        dead_letter: Callable[[DeadLetter], None],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self._dead_letter = dead_letter
        self._clock = clock
        specs = settings.series_specs()
        self.engine = Engine(settings.engine_config(), series=tuple(specs.values()))
        self.windows: list[tuple[str, Series, int]] = [
            (name, series, spec.retain_closed) for (name, spec), series in zip(specs.items(), self.engine.series)
        ]
        self.sla_policy = self.engine.config.sla
        self.horizons = settings.at_risk_horizons_seconds()
        self.max_message_bytes = settings.kafka.max_message_bytes
        self.events = Counter()  # (topic, outcome) -> n
        self.rejected = Counter()  # reason -> n
        self.dead_letters = 0
        self.dead_letter_failures = 0
        self.last_event_at: float | None = None
        # (topic, partition) -> offset of the last record handled
        self.positions: dict[tuple[str, int], int] = {}
        self.snapshot = Snapshot()

    def handle(self, topic: str, partition: int, offset: int, value: bytes | None) -> str:
        """Process one record. Never raises on bad input: it is dead-lettered instead."""
        self.positions[(topic, partition)] = offset
        self.last_event_at = self._clock()
        if value is None or len(value) > self.max_message_bytes:
            size = 0 if value is None else len(value)
            outcome: str | Rejected = Rejected(
                contract.TOO_LARGE if value is not None else contract.INVALID_JSON,
                f"message of {size} bytes exceeds the {self.max_message_bytes}-byte limit" if value is not None else "message has no value",
                value or b"",
            )
            self.engine.stats.rejected[outcome.reason] += 1
        else:
            outcome = self.engine.process_raw(value)
        if outcome is ACCEPTED or outcome is DUPLICATE:
            self.events[(topic, outcome)] += 1
            return outcome
        assert type(outcome) is Rejected
        self.events[(topic, "rejected")] += 1
        self.rejected[outcome.reason] += 1
        try:
            self._dead_letter(DeadLetter(outcome.reason, outcome.detail, outcome.raw, topic, partition, offset))
            self.dead_letters += 1
        except Exception:  # noqa: BLE001 - a failing dead-letter sink must not stop processing
            self.dead_letter_failures += 1
        return outcome.reason

    def evaluate(self) -> Snapshot:
        """Recompute every trailing window and the live SLA state (wall clock 'now')."""
        started = time.perf_counter()
        now = self._clock()
        wm = self.engine.watermark.value
        watermark = None if wm == float("-inf") else wm
        anchor = now if watermark is None else max(now, watermark)
        windows = {}
        for name, series, n in self.windows:
            end = series.index(anchor)
            windows[name] = list(kpi_rows(series.view(end - n + 1, end)))
        sla = live_sla_state(self.engine.open_tickets(), now, self.sla_policy, self.horizons)
        self.snapshot = Snapshot(now, watermark, windows, sla, time.perf_counter() - started)
        return self.snapshot
