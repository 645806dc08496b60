"""The worker's core, free of Faust and Kafka: raw records in, per-partition engine state and counters out.

One `kpi.engine.Engine` per assigned input partition, so that a partition's state can be
checkpointed with its offset, handed to another worker on a rebalance, and restored after a
crash on its own (streams/worker/checkpoints.py). Each engine judges lateness by its own
partition's event time, so re-processing a partition gives the same decisions no matter how
partitions interleave.

`PartitionEngines.evaluate()` merges the views of this worker's partitions into its partial
(`kpi.partial.WorkerPartial`); the exporting worker merges every worker's partial into the
values on /metrics (streams/worker/partials.py).
"""

from __future__ import annotations

import logging
import math
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol

from kpi import contract, state
from kpi.contract import Rejected
from kpi.engine import ACCEPTED, DUPLICATE, Engine
from kpi.merge import merge_views
from kpi.partial import TP, WorkerPartial
from kpi.series import WindowView
from kpi.sla import live_sla_state
from streams.settings import Settings

log = logging.getLogger("kpi_monitor.worker")


class Record(Protocol):
    """What the engines read of a Kafka record (aiokafka's ConsumerRecord has these)."""

    @property
    def offset(self) -> int:
        """The record's offset in its partition."""
        ...

    @property
    def value(self) -> bytes | None:
        """The raw value (None: a tombstone or an empty record)."""
        ...


class _Record(NamedTuple):
    offset: int
    value: bytes | None


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A rejected record, for the dead-letter topic: why (`reason`, a `kpi.contract` reject
    reason; `detail`, human-readable), the raw bytes, and where it came from."""

    reason: str
    detail: str
    raw: bytes
    topic: str
    partition: int
    offset: int


@dataclass(frozen=True)
class Evaluation:
    """This worker's pipeline gauges as of its last evaluation (not KPI values: those are
    the exporting worker's, from the merge). Times in epoch seconds; `duration_seconds` is
    how long the evaluation took. All zero/None before the first evaluation."""

    evaluated_at: float = 0.0
    watermark: float | None = None
    duration_seconds: float = 0.0


class Checkpoint(NamedTuple):
    """A partition's encoded state (`kpi.state.dumps` of {"offset", "engine"}) and the
    offset it reflects: the first record not yet folded into it."""

    blob: bytes
    offset: int


class _Window(NamedTuple):
    name: str
    series_index: int
    buckets: int  # closed buckets the window spans before the one in progress


class PartitionEngines:
    """One engine per input partition, with the worker's record counters and dead letters.

    Holds `engines` (partition -> `Engine`), `next_offsets` (partition -> the first offset
    not yet folded into its engine) and counters for /metrics. Never raises on bad input:
    a record that is too large, undecodable or invalid is handed to `dead_letter` with its
    reason, and so is one whose processing raised (a bug), so a partition never stalls.
    `clock` is the wall clock (epoch seconds), injectable for tests.
    """

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
        self.windows = [_Window(name, i, spec.retain_closed) for i, (name, spec) in enumerate(specs.items())]
        self.sla_policy = self.config.sla
        self.horizons = settings.at_risk_horizons_seconds()
        self.interval_seconds = settings.evaluation_interval_seconds()
        self.max_message_bytes = settings.kafka.max_message_bytes
        self.max_future_seconds = settings.max_future_seconds()
        self.engines: dict[TP, Engine] = {}
        # First offset not yet folded into each partition's engine (absent: unknown, take what comes).
        self.next_offsets: dict[TP, int] = {}
        self._dirty: set[TP] = set()
        self.events: Counter = Counter()  # (topic, outcome) -> records
        self.rejected: Counter = Counter()  # reject reason -> records
        self.dead_letters = 0
        self.dead_letter_failures = 0
        self.skipped_already_in_state = 0
        self.state_resets = 0
        self.last_event_at: float | None = None
        # Optional observer of every resolution (team, priority, seconds), e.g. a histogram.
        self.on_resolution: Callable[[str, str, float], None] | None = None
        self.last_evaluation = Evaluation()
        self.partial: WorkerPartial | None = None

    # -- partitions ------------------------------------------------------------------------
    def _new_engine(self) -> Engine:
        engine = Engine(self.config, series=self.specs)
        engine.on_resolution = self.on_resolution
        return engine

    def engine(self, tp: TP) -> Engine:
        """The partition's engine, created empty on first use."""
        engine = self.engines.get(tp)
        if engine is None:
            engine = self.engines[tp] = self._new_engine()
        return engine

    def checkpoint(self, tp: TP) -> Checkpoint | None:
        """The encoded state of a partition changed since its last checkpoint, else None.

        Clears the partition's changed flag: call `mark_dirty` if the checkpoint is not written.
        """
        if tp not in self._dirty or tp not in self.engines or tp not in self.next_offsets:
            return None
        self._dirty.discard(tp)
        offset = self.next_offsets[tp]
        blob = state.dumps({"offset": offset, "engine": state.engine_state(self.engines[tp], self.specs)})
        return Checkpoint(blob, offset)

    def mark_dirty(self, tp: TP) -> None:
        """Flag a partition for the next checkpoint again (its last one was not written)."""
        if tp in self.engines:
            self._dirty.add(tp)

    def dirty_partitions(self) -> list[TP]:
        """Partitions changed since their last checkpoint, sorted."""
        return sorted(self._dirty)

    def restore(self, tp: TP, blob: bytes | None) -> int | None:
        """Install a partition's checkpointed state; return the offset to resume from.

        None: no checkpoint (`blob` None), or one that does not decode or does not match the
        configuration (counted in `state_resets` and logged); the partition then starts empty
        from wherever the consumer group's committed offset (or the earliest record) is.
        """
        self.engines.pop(tp, None)
        self.next_offsets.pop(tp, None)
        self._dirty.discard(tp)
        if blob is None:
            return None
        try:
            saved = state.loads(blob)
            offset = saved.get("offset") if type(saved) is dict else None
            if type(offset) is not int or offset < 0:
                raise state.StateError(f"no valid offset in the checkpoint ({offset!r})")
            engine = state.restore_engine(saved.get("engine"), self.config, self.specs)
        except state.StateError as exc:  # restore_engine raises nothing else on bad input
            self.state_resets += 1
            log.warning(
                "partition %s-%d: checkpoint not restored (%s); starting its state empty from the committed offset. "
                "Expected after changing windows, grace, SLA targets or labels.", tp[0], tp[1], exc,
            )
            return None
        engine.on_resolution = self.on_resolution
        self.engines[tp] = engine
        self.next_offsets[tp] = offset
        return offset

    def drop(self, tp: TP) -> None:
        """Forget a revoked partition: its next owner restores it from the checkpoint."""
        self.engines.pop(tp, None)
        self.next_offsets.pop(tp, None)
        self._dirty.discard(tp)

    # -- records ----------------------------------------------------------------------------
    def handle_batch(self, topic: str, partition: int, records: Sequence[Record]) -> str:
        """Fold records of one partition, in offset order, into its engine.

        Returns the outcome of the last record: "accepted", "duplicate", a reject reason, or
        "skipped" when every record is below the partition's restored offset (already in the
        state). Never raises on bad input: it is dead-lettered instead. Partition bookkeeping
        (offsets, checkpoint flags, the clock) is per batch, not per record.
        """
        tp = TP(topic, partition)
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
        return outcome

    def handle(self, topic: str, partition: int, offset: int, value: bytes | None) -> str:
        """One record (Faust's stock agent path); as `handle_batch`."""
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
        """The highest partition watermark (epoch seconds), None before any accepted event."""
        marks = [e.watermark.value for e in self.engines.values() if e.watermark.value != -math.inf]
        return max(marks) if marks else None

    def evaluate(self, claimed: list[TP] | None = None) -> WorkerPartial:
        """This worker's partial: trailing windows over its partitions and live SLA state (wall clock 'now').

        `claimed`: the partitions the partial claims (default: every partition with an engine);
        the exporting worker checks that the claims of all partials cover each input partition
        once. The windows end at the wall clock floored to the evaluation interval, so workers
        evaluating in the same interval produce views of the same windows and the exporter can
        merge them exactly. Events ahead of the wall clock (at most `max_future`) show once it
        reaches them. Also updates `last_evaluation` and `partial`.
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
        self.last_evaluation = Evaluation(now, watermark, time.perf_counter() - started)
        return self.partial

    # -- state totals for /metrics ----------------------------------------------------------------
    @property
    def duplicates(self) -> int:
        """Records whose event id was already seen, over every topic."""
        return sum(n for (_, outcome), n in self.events.items() if outcome == DUPLICATE)

    @property
    def tracked_tickets(self) -> int:
        """Tickets held in engine state, over every partition."""
        return sum(e.tracked_tickets for e in self.engines.values())

    @property
    def tracked_customers(self) -> int:
        """Customers held in engine state, over every partition."""
        return sum(e.tracked_customers for e in self.engines.values())

    def label_overflowed(self, dim: str) -> bool:
        """Whether any partition's cap on label `dim` ("team", "channel", "feature") was reached."""
        return any(e.labels.overflowed(dim) for e in self.engines.values())
