"""Turn simulated events into records, injecting the faults a real pipeline sees.

- duplicate: a recently written record is written again, byte for byte.
- malformed: an extra record that breaks the contract (see malformed.py).
- late: a survey, order, customer.active or feature.used event is held back
  and written once the clock is `late_by` past its `ts`.
- out of order: an event is held back up to `horizon` seconds. Later events
  of the same ticket (or the same customer on the customers topic) wait
  behind it, so per-ticket and per-customer lifecycle order survives.

Duplicates and malformed records are *extra* records; late and out-of-order
events are the simulation's own events, moved. The fault RNG is separate from
the simulation's, so the same seed yields the same events with or without
faults.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from heapq import heappop, heappush
from typing import Any, Callable, Iterable, Iterator, NamedTuple

import orjson

from streams.generator.config import FaultConfig
from streams.generator.malformed import MALFORMED_KINDS, MalformedFactory
from streams.generator.routing import CUSTOMERS, ORDERS, SURVEYS, TICKETS
from streams.generator.simulation import Event

# Events that no other event depends on, so delaying them by minutes cannot
# put a lifecycle out of order (tickets, signups and churns stay on time).
_LATE_ELIGIBLE_CUSTOMER_TYPES = frozenset({"customer.active", "feature.used"})
_DUPLICATE_SOURCE_RECORDS = 256

_LATE = 0
_OUT_OF_ORDER = 1
_KEPT_IN_ORDER = 2


class Record(NamedTuple):
    """One record to write: the logical topic (`routing.TopicNames` maps it to a Kafka topic),
    the message key and the JSON value, both bytes."""

    topic: str  # logical topic, see routing.py
    key: bytes
    value: bytes


@dataclass
class FaultCounts:
    """Faults in the records written (held records count once released)."""

    duplicate: int = 0
    late: int = 0
    out_of_order: int = 0
    malformed: dict[str, int] = field(default_factory=lambda: dict.fromkeys(MALFORMED_KINDS, 0))
    # On-time events that waited behind an out-of-order event of the same key.
    kept_in_order: int = 0
    # Late or out-of-order events still held when the run stopped: never written.
    held_at_end: int = 0
    # Late or out-of-order faults not injected because the buffer was full.
    skipped_buffer_full: int = 0

    @property
    def malformed_total(self) -> int:
        """Malformed records written, all kinds together."""
        return sum(self.malformed.values())

    def as_dict(self) -> dict[str, Any]:
        """The counts as JSON-ready values, for the run's summary (`--summary-json`): each
        fault's count, malformed in total and by kind."""
        return {
            "duplicate": self.duplicate,
            "late": self.late,
            "out_of_order": self.out_of_order,
            "malformed": self.malformed_total,
            "malformed_by_kind": dict(self.malformed),
            "kept_in_order": self.kept_in_order,
            "held_at_end": self.held_at_end,
            "skipped_buffer_full": self.skipped_buffer_full,
        }


def fault_rng(seed: int) -> random.Random:
    """The fault injector's random generator for `seed`: separate from the simulation's
    (`simulation.simulation_rng`), so a seed gives the same events with or without faults; seeded
    with a string, so not dependent on PYTHONHASHSEED."""
    return random.Random(f"kpi-monitor-generator/faults/{seed}")


class FaultInjector:
    """Turns a run's simulated events into the records to write, injecting the faults of its
    `FaultConfig` (see the module's list); `counts` says what it injected.

    `format_ts` formats a malformed record's `ts` as the run's events are formatted. Late and
    out-of-order events are held (at most `max_held_events`; beyond it a fault is skipped and
    counted) and released once the simulated clock passes their release time.
    """

    def __init__(
        self, faults: FaultConfig, seed: int, format_ts: Callable[[float], Any]
    ) -> None:
        self._faults = faults
        self._rng = fault_rng(seed)
        self._malformed = MalformedFactory(self._rng, format_ts, id_prefix=f"bad-{seed}-")
        self._held: list[tuple[float, int, Record, str | None, int]] = []
        self._hold_seq = 0
        # order key -> [release time of its last held record, number held]
        self._key_pending: dict[str, list[Any]] = {}
        self._recent: list[Record] = []
        self._recent_pos = 0
        self.counts = FaultCounts()
        self.clock_seconds = float("-inf")

    @property
    def held_count(self) -> int:
        """Events held back now (late or out of order, or waiting behind an out-of-order event of
        the same key)."""
        return len(self._held)

    def finish(self) -> FaultCounts:
        """Call when the run stops: what is still held is never written."""
        self.counts.held_at_end = len(self._held)
        return self.counts

    def records(self, events: Iterable[Event]) -> Iterator[Record]:
        """The records for `events` (in simulated-time order), faults injected: held events come
        out once an event's `ts` reaches their release time; duplicates and malformed records are
        extra; events still held when `events` ends are not written (`finish` counts them)."""
        faults = self._faults
        rng = self._rng
        held = self._held
        key_pending = self._key_pending
        counts = self.counts
        dumps = orjson.dumps
        injected = faults.injected_fraction
        malformed = faults.malformed_fraction
        late = faults.late_fraction
        late_by = faults.late_by_seconds
        out_of_order = faults.out_of_order_fraction
        horizon = faults.out_of_order_horizon_seconds
        max_held = faults.max_held_events
        remember = self._remember
        keep_recent = faults.duplicate_fraction > 0

        if not faults.any:
            for event in events:
                self.clock_seconds = event.ts_seconds
                yield Record(event.topic, event.key.encode(), dumps(event.payload))
            return

        for event in events:
            t = event.ts_seconds
            self.clock_seconds = t
            while held and held[0][0] <= t:
                record = self._release()
                if keep_recent:
                    remember(record)
                yield record

            # Number of extra records before this event is geometric, so that
            # extras make up `injected` of all records.
            while injected and rng.random() < injected:
                if rng.random() * injected < malformed:
                    topic, key, value, kind = self._malformed.make(t)
                    counts.malformed[kind] += 1
                    yield Record(topic, key, value)
                elif self._recent:
                    counts.duplicate += 1
                    yield self._recent[rng.randrange(len(self._recent))]

            topic = event.topic
            record = Record(topic, event.key.encode(), dumps(event.payload))
            order_key = event.key if topic == TICKETS or topic == CUSTOMERS else None
            if order_key is not None and order_key in key_pending:
                self._hold(key_pending[order_key][0], record, order_key, _KEPT_IN_ORDER)
                continue
            if (
                late
                and (
                    topic == SURVEYS
                    or topic == ORDERS
                    or event.payload["type"] in _LATE_ELIGIBLE_CUSTOMER_TYPES
                )
                and rng.random() < late
            ):
                if len(held) < max_held:
                    self._hold(t + late_by, record, None, _LATE)
                    continue
                counts.skipped_buffer_full += 1
            if out_of_order and rng.random() < out_of_order:
                if len(held) < max_held:
                    self._hold(t + rng.random() * horizon, record, order_key, _OUT_OF_ORDER)
                    continue
                counts.skipped_buffer_full += 1
            if keep_recent:
                remember(record)
            yield record

    def _hold(self, release_seconds: float, record: Record, order_key: str | None, why: int) -> None:
        self._hold_seq += 1
        heappush(self._held, (release_seconds, self._hold_seq, record, order_key, why))
        if order_key is not None:
            pending = self._key_pending.get(order_key)
            if pending is None:
                self._key_pending[order_key] = [release_seconds, 1]
            else:
                pending[0] = max(pending[0], release_seconds)
                pending[1] += 1

    def _release(self) -> Record:
        _, _, record, order_key, why = heappop(self._held)
        if order_key is not None:
            pending = self._key_pending[order_key]
            pending[1] -= 1
            if pending[1] == 0:
                del self._key_pending[order_key]
        if why == _LATE:
            self.counts.late += 1
        elif why == _OUT_OF_ORDER:
            self.counts.out_of_order += 1
        else:
            self.counts.kept_in_order += 1
        return record

    def _remember(self, record: Record) -> None:
        recent = self._recent
        if len(recent) < _DUPLICATE_SOURCE_RECORDS:
            recent.append(record)
        else:
            recent[self._recent_pos] = record
            self._recent_pos = (self._recent_pos + 1) % _DUPLICATE_SOURCE_RECORDS
