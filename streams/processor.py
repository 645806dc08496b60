"""The worker's core, free of Faust: raw Kafka records in, engine state and counters out.

One `Engine` per assigned input partition, so that a partition's state can be
checkpointed with its offset, handed to another worker on a rebalance, and restored
after a crash on its own (streams/checkpoints.py). Each engine judges lateness by its
own partition's event time, so re-processing a partition gives the same decisions no
matter how partitions interleave.

`evaluate()` merges the views of this worker's partitions into its partial
(`WorkerPartial`); the exporter (streams/exporter.py) merges the partials of every
worker in the group into the values on /metrics.
"""

from __future__ import annotations

import logging
import math
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from kpi import contract, state
from kpi.contract import Rejected
from kpi.engine import ACCEPTED, DUPLICATE, Engine
from kpi.formulas import kpi_rows
from kpi.merge import merge_views
from kpi.series import WindowView
from kpi.sla import LiveSla, live_sla_state
from streams.settings import Settings

log = logging.getLogger("kpi_monitor.worker")

TP = tuple[str, int]
Row = tuple[str, dict[str, str], float | int | None]


class _Record(NamedTuple):
    offset: int
    value: bytes | None


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
    windows: dict[str, list[Row]] = field(default_factory=dict)
    sla: dict[tuple[str, str], LiveSla] = field(default_factory=dict)
    duration_seconds: float = 0.0


@dataclass
class WorkerPartial:
    """One worker's share of the KPIs: merged views of the partitions it owns."""

    anchor: float
    evaluated_at: float
    watermark: float | None
    partitions: list[TP]
    views: dict[str, WindowView]
    sla: dict[tuple[str, str], LiveSla]

    def snapshot(self) -> Snapshot:
        windows = {name: list(kpi_rows(view)) for name, view in self.views.items()}
        return Snapshot(self.evaluated_at, self.watermark, windows, self.sla)


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
        self.config = settings.engine_config()
        specs = settings.series_specs()
        self.specs = tuple(specs.values())
        self.windows: list[tuple[str, int, int]] = [(name, i, spec.retain_closed) for i, (name, spec) in enumerate(specs.items())]
        self.sla_policy = self.config.sla
        self.horizons = settings.at_risk_horizons_seconds()
        self.interval_seconds = settings.evaluation_interval_seconds()
        self.max_message_bytes = settings.kafka.max_message_bytes
        self.max_future_seconds = settings.max_future_seconds()
        self.engines: dict[TP, Engine] = {}
        # First offset not yet folded into each partition's engine (None: unknown, take what comes).
        self.next_offsets: dict[TP, int] = {}
        self._dirty: set[TP] = set()
        # Restored partitions whose first fetched record is still to be checked against the
        # restored offset (streams/batching.py seeks back if the fetch starts past it), and
        # the offset each was already sent back to once.
        self.verify_first: set[TP] = set()
        self.sought_back: dict[TP, int] = {}
        self.events = Counter()  # (topic, outcome) -> n
        self.rejected = Counter()  # reason -> n
        self.dead_letters = 0
        self.dead_letter_failures = 0
        self.skipped_already_in_state = 0
        self.state_resets = 0
        self.last_event_at: float | None = None
        # Optional observer of every resolution (team, priority, seconds), e.g. a histogram.
        self.on_resolution: Callable[[str, str, float], None] | None = None
        self.snapshot = Snapshot()
        self.partial: WorkerPartial | None = None

    # -- partitions ------------------------------------------------------------------------
    def _new_engine(self) -> Engine:
        engine = Engine(self.config, series=self.specs)
        engine.on_resolution = self.on_resolution
        return engine

    def engine(self, tp: TP) -> Engine:
        engine = self.engines.get(tp)
        if engine is None:
            engine = self.engines[tp] = self._new_engine()
        return engine

    def checkpoint(self, tp: TP) -> tuple[bytes, int] | None:
        """(encoded state, next offset) of a partition changed since its last checkpoint, else None."""
        if tp not in self._dirty or tp not in self.engines or tp not in self.next_offsets:
            return None
        self._dirty.discard(tp)
        offset = self.next_offsets[tp]
        blob = state.dumps({"offset": offset, "engine": state.engine_state(self.engines[tp], self.specs)})
        return blob, offset

    def mark_dirty(self, tp: TP) -> None:
        if tp in self.engines:
            self._dirty.add(tp)

    def dirty_partitions(self) -> list[TP]:
        return sorted(self._dirty)

    def restore(self, tp: TP, blob: bytes | None) -> int | None:
        """Install a partition's checkpointed state; return the offset to resume from.

        None: no usable checkpoint, the partition starts empty from wherever the
        consumer group's committed offset (or the earliest record) is.
        """
        self.engines.pop(tp, None)
        self.next_offsets.pop(tp, None)
        self._dirty.discard(tp)
        self.verify_first.discard(tp)
        if blob is None:
            return None
        try:
            saved = state.loads(blob)
            engine = state.restore_engine(saved["engine"], self.config, self.specs)
        except (state.StateError, KeyError, TypeError, ValueError) as exc:
            self.state_resets += 1
            log.warning(
                "partition %s-%d: checkpoint not restored (%s); starting its state empty from the committed offset. "
                "Expected after changing windows, grace, SLA targets or labels.", tp[0], tp[1], exc,
            )
            return None
        engine.on_resolution = self.on_resolution
        self.engines[tp] = engine
        self.next_offsets[tp] = saved["offset"]
        self.verify_first.add(tp)
        self.sought_back.pop(tp, None)
        return saved["offset"]

    def offset_to_verify(self, topic: str, partition: int) -> int | None:
        """The restored offset a partition's first fetched batch must start at, until one was handled."""
        tp = (topic, partition)
        return self.next_offsets.get(tp) if tp in self.verify_first else None

    def drop(self, tp: TP) -> None:
        """Forget a revoked partition: its next owner restores it from the checkpoint."""
        self.engines.pop(tp, None)
        self.next_offsets.pop(tp, None)
        self._dirty.discard(tp)
        self.verify_first.discard(tp)
        self.sought_back.pop(tp, None)

    # -- records ----------------------------------------------------------------------------
    def handle_batch(self, topic: str, partition: int, records: Sequence[Any]) -> str:
        """Records of one partition in offset order (each with `.offset` and `.value`); the
        outcome of the last. Never raises on bad input: it is dead-lettered instead.

        Partition bookkeeping (offsets, checkpoint flags, the clock) is per batch, not per record.
        """
        tp = (topic, partition)
        expected = self.next_offsets.get(tp)
        if expected is not None and records[0].offset < expected:
            # Re-read after a restore: these are already in the state.
            skip = sum(1 for r in records if r.offset < expected)
            self.skipped_already_in_state += skip
            records = records[skip:]
            if not records:
                return "skipped"
        engine = self.engine(tp)
        now = self.last_event_at = self._clock()
        not_after = now + self.max_future_seconds
        outcome = ""
        for r in records:
            outcome = self._record(engine, topic, partition, r.offset, r.value, not_after)
        self.next_offsets[tp] = records[-1].offset + 1
        self._dirty.add(tp)
        self.verify_first.discard(tp)
        return outcome

    def handle(self, topic: str, partition: int, offset: int, value: bytes | None) -> str:
        """One record (Faust's stock agent path)."""
        return self.handle_batch(topic, partition, (_Record(offset, value),))

    def _record(self, engine: Engine, topic: str, partition: int, offset: int, value: bytes | None, not_after: float) -> str:
        if value is None or len(value) > self.max_message_bytes:
            size = 0 if value is None else len(value)
            outcome: str | Rejected = Rejected(
                contract.TOO_LARGE if value is not None else contract.INVALID_JSON,
                f"message of {size} bytes exceeds the {self.max_message_bytes}-byte limit" if value is not None else "message has no value",
                value or b"",
            )
            engine.stats.rejected[outcome.reason] += 1
        else:
            try:
                outcome = engine.process_raw(value, not_after)
            except Exception as exc:  # noqa: BLE001
                # Decoding never raises on input (fuzzed in tests/kpi/test_properties.py), so
                # this is a bug. Keep the record and the error in the dead letters and go on:
                # raising would make Kafka redeliver it, and the partition would never move.
                log.exception("processing %s-%d offset %d raised; dead-lettered as %s", topic, partition, offset, contract.INTERNAL_ERROR)
                outcome = Rejected(contract.INTERNAL_ERROR, f"{type(exc).__name__}: {exc}", value)
                engine.stats.rejected[outcome.reason] += 1
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

    # -- evaluation ---------------------------------------------------------------------------
    def watermark(self) -> float | None:
        marks = [e.watermark.value for e in self.engines.values() if e.watermark.value != -math.inf]
        return max(marks) if marks else None

    def evaluate(self, claimed: list[TP] | None = None) -> WorkerPartial:
        """This worker's partial: trailing windows over its partitions and live SLA state (wall clock 'now').

        The windows end at the wall clock floored to the evaluation interval, so workers
        evaluating in the same interval produce views of the same windows and the exporter can
        merge them exactly. Events ahead of the wall clock (at most `max_future`) show once it
        reaches them.
        """
        started = time.perf_counter()
        now = self._clock()
        watermark = self.watermark()
        # The wall clock, not the watermark: every worker must land on the same windows, and
        # a partition's watermark may run ahead by up to `max_future`.
        anchor = math.floor(now / self.interval_seconds) * self.interval_seconds
        engines = list(self.engines.values())
        for e in engines:
            e.drain_closed()  # the worker reads trailing views; closed windows are the replay's output
        views: dict[str, WindowView] = {}
        for name, i, n in self.windows:
            series = [e.series[i] for e in engines]
            if not series:
                continue
            end = series[0].index(anchor)
            merged = merge_views(s.view(end - n + 1, end) for s in series)
            assert merged is not None
            views[name] = merged
        open_tickets = (t for e in engines for t in e.open_tickets())
        sla = live_sla_state(open_tickets, now, self.sla_policy, self.horizons)
        self.partial = WorkerPartial(anchor, now, watermark, sorted(self.engines) if claimed is None else claimed, views, sla)
        # This worker's pipeline gauges only: KPI rows are built by the exporter, from the merge.
        self.snapshot = Snapshot(now, watermark, duration_seconds=time.perf_counter() - started)
        return self.partial

    # -- state totals for /metrics ----------------------------------------------------------------
    @property
    def duplicates(self) -> int:
        return sum(n for (_, outcome), n in self.events.items() if outcome == DUPLICATE)

    @property
    def tracked_tickets(self) -> int:
        return sum(e.tracked_tickets for e in self.engines.values())

    @property
    def tracked_customers(self) -> int:
        return sum(e.tracked_customers for e in self.engines.values())

    def label_overflowed(self, dim: str) -> bool:
        return any(e.labels.overflowed(dim) for e in self.engines.values())
