"""A series of tumbling buckets of one size: where events land, close and get viewed.

The replay uses one series whose bucket is the report window and keeps nothing after a
bucket closes. The worker uses one series per trailing window (e.g. 1-minute buckets for
the last 5 minutes) and keeps the closed buckets that window needs.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from typing import NamedTuple

from kpi.aggregates import Bucket, LabelKey, add_counts
from kpi.errors import StateError
from kpi.snapshots import EndSnapshot, SeriesSnapshot, ViewSnapshot
from kpi.stickiness import StickinessTracker
from kpi.windows import window_index

MAX_GAP_BUCKETS = 10_000


@dataclass(slots=True)
class EndState:
    """Step-function values of a closed bucket: open and breached open tickets per label key
    at the bucket's end, the churn base (customers) at its start, and DAU / MAU (with their
    ratio, None when MAU is 0) at its end."""

    open_tickets: dict[LabelKey, int]
    breached_open_tickets: dict[LabelKey, int]
    base_customers: int
    stickiness: float | None
    # DAU and MAU behind `stickiness`, so closed buckets of disjoint customer partitions
    # can merge (the parallel replay).
    active_day: int = 0
    active_month: int = 0

    def snapshot(self) -> EndSnapshot:
        """The end state as plain data (see kpi.snapshots)."""
        return EndSnapshot(
            list(self.open_tickets.items()), list(self.breached_open_tickets.items()), self.base_customers,
            self.stickiness, self.active_day, self.active_month,
        )

    @staticmethod
    def from_snapshot(s: EndSnapshot) -> EndState:
        """The end state `snapshot()` describes."""
        return EndState(
            dict(s.open_tickets), dict(s.breached_open_tickets), s.base_customers, s.stickiness, s.active_day, s.active_month
        )


@dataclass(slots=True)
class WindowView:
    """KPI inputs for one window [start_seconds, end_seconds) of a series.

    `flows`: the merged flows of the window's buckets. `open_tickets`,
    `breached_open_tickets`: per label key at the window's end (zero counts left out).
    `base_customers`: the churn base at the window's start; `churned_from_base`: churns in
    the window of customers who signed up before it. `stickiness`: DAU / MAU at the end
    (None when MAU is 0), from `active_day` and `active_month`.
    """

    start_seconds: int
    end_seconds: int
    flows: Bucket
    open_tickets: dict[LabelKey, int]
    breached_open_tickets: dict[LabelKey, int]
    base_customers: int
    churned_from_base: int
    stickiness: float | None
    # DAU and MAU behind `stickiness`, so views of disjoint customer partitions can merge.
    active_day: int = 0
    active_month: int = 0

    def snapshot(self) -> ViewSnapshot:
        """The view as plain data (see kpi.snapshots): what a worker's partial carries."""
        return ViewSnapshot(
            self.start_seconds, self.end_seconds, self.flows.snapshot(), list(self.open_tickets.items()),
            list(self.breached_open_tickets.items()), self.base_customers, self.churned_from_base, self.active_day,
            self.active_month,
        )

    @staticmethod
    def from_snapshot(s: ViewSnapshot) -> WindowView:
        """The view `snapshot()` describes. Raises StateError for a malformed sketch."""
        return WindowView(
            s.start_seconds, s.end_seconds, Bucket.from_snapshot(s.flows), dict(s.open_tickets), dict(s.breached_open_tickets),
            s.base_customers, s.churned_from_base, s.active_day / s.active_month if s.active_month else None,
            s.active_day, s.active_month,
        )


class Closed(NamedTuple):
    """A bucket a series has just closed: its index, its flows and its end state."""

    bucket_index: int
    bucket: Bucket
    end: EndState


class Series:
    """Tumbling buckets of `size_seconds`, aligned to the epoch: bucket k is [k*size, (k+1)*size).

    Buckets open when an event (or a step of a step function) lands in them and close in
    index order once the engine's watermark minus grace passes their end. The flows of a
    closed bucket are kept for `retain_closed` buckets (trailing views), with the step
    functions' values at its end (`EndState`); with `stickiness`, DAU and MAU are tracked
    at bucket ends.
    """

    __slots__ = (
        "size_seconds", "retain_closed", "buckets", "_heap", "closed_through", "_carry_open",
        "_carry_breached", "_carry_base", "_ends", "stickiness",
    )

    def __init__(self, size_seconds: int, retain_closed: int = 0, stickiness: bool = False) -> None:
        self.size_seconds = size_seconds
        self.retain_closed = retain_closed
        self.buckets: dict[int, Bucket] = {}
        self._heap: list[int] = []  # indices of buckets not yet closed
        self.closed_through: int | None = None
        self._carry_open: dict[LabelKey, int] = {}
        self._carry_breached: dict[LabelKey, int] = {}
        self._carry_base = 0
        self._ends: dict[int, EndState] = {}
        self.stickiness = StickinessTracker(size_seconds) if stickiness else None

    def index(self, ts_seconds: float) -> int:
        """The index of the bucket holding event time `ts_seconds`."""
        return window_index(ts_seconds, self.size_seconds)

    def at(self, index: int) -> Bucket:
        """Bucket `index`, opened (empty) if it is not open yet."""
        b = self.buckets.get(index)
        if b is None:
            b = self.buckets[index] = Bucket()
            heapq.heappush(self._heap, index)
        return b

    def closes_by(self, boundary_seconds: float) -> bool:
        """True when `close_until(boundary_seconds)` would close a bucket."""
        heap = self._heap
        return bool(heap) and (heap[0] + 1) * self.size_seconds <= boundary_seconds

    def close_until(self, boundary_seconds: float) -> list[Closed]:
        """Close, in order, every bucket that ends at or before the boundary.

        Empty buckets between closed ones are closed too (a report needs every window of
        a time series), unless the gap is absurd, e.g. one stray event from 1970.
        """
        closed = []
        size, heap = self.size_seconds, self._heap
        while heap and (heap[0] + 1) * size <= boundary_seconds:
            if self.closed_through is not None and heap[0] - self.closed_through - 1 in range(1, MAX_GAP_BUCKETS):
                self.at(self.closed_through + 1)  # fill the gap, one bucket at a time
            k = heapq.heappop(heap)
            bucket = self.buckets[k]
            add_counts(self._carry_open, bucket.open_delta)
            add_counts(self._carry_breached, bucket.breached_open_delta)
            self._carry_base += bucket.base_delta
            dau, mau = self.stickiness.close(k) if self.stickiness is not None else (0, 0)
            end = EndState(
                {k_: v for k_, v in self._carry_open.items() if v},
                {k_: v for k_, v in self._carry_breached.items() if v},
                self._carry_base,
                dau / mau if mau else None,
                dau,
                mau,
            )
            self.closed_through = k
            closed.append(Closed(k, bucket, end))
            if self.retain_closed:
                self._ends[k] = end
            else:
                del self.buckets[k]
        if self.retain_closed and self.closed_through is not None:
            floor = self.closed_through - self.retain_closed
            for k in [k for k in self._ends if k <= floor]:
                del self._ends[k]
                self.buckets.pop(k, None)
        return closed

    def close_through_index(self, index: int) -> list[Closed]:
        """Close every bucket up to and including `index` (see `close_until`)."""
        return self.close_until((index + 1) * self.size_seconds)

    def _cumulative(self, index: int) -> tuple[dict[LabelKey, int], dict[LabelKey, int], int]:
        """Running sums of the deltas through bucket `index`."""
        if self.closed_through is not None and index <= self.closed_through:
            end = self._ends.get(index)
            if end is None:  # an empty closed bucket: the nearest earlier end holds
                earlier = [k for k in self._ends if k <= index]
                end = self._ends[max(earlier)] if earlier else EndState({}, {}, 0, None)
            return dict(end.open_tickets), dict(end.breached_open_tickets), end.base_customers
        opened, breached, base = dict(self._carry_open), dict(self._carry_breached), self._carry_base
        for k, bucket in self.buckets.items():
            if (self.closed_through is None or k > self.closed_through) and k <= index:
                add_counts(opened, bucket.open_delta)
                add_counts(breached, bucket.breached_open_delta)
                base += bucket.base_delta
        return opened, breached, base

    def view(self, start_index: int, end_index: int) -> WindowView:
        """The window of buckets start_index..end_index (inclusive), closed or not.

        Closed buckets before the retained ones contribute nothing: ask only for windows
        within `retain_closed` buckets of the last close.
        """
        flows = Bucket()
        for k, bucket in self.buckets.items():
            if start_index <= k <= end_index:
                flows.merge_flows(bucket)
        opened, breached, _ = self._cumulative(end_index)
        _, _, base = self._cumulative(start_index)
        churned = sum(n for signup, n in flows.churned_by_signup.items() if signup < start_index)
        dau, mau = self.stickiness.counts_at(end_index) if self.stickiness is not None else (0, 0)
        return WindowView(
            start_index * self.size_seconds,
            (end_index + 1) * self.size_seconds,
            flows,
            {k: v for k, v in opened.items() if v},
            {k: v for k, v in breached.items() if v},
            base,
            churned,
            dau / mau if mau else None,
            dau,
            mau,
        )

    @staticmethod
    def closed_view(index: int, size_seconds: int, bucket: Bucket, end: EndState) -> WindowView:
        """The view of a single just-closed bucket (what the replay reports)."""
        churned = sum(n for signup, n in bucket.churned_by_signup.items() if signup < index)
        return WindowView(
            index * size_seconds, (index + 1) * size_seconds, bucket, end.open_tickets,
            end.breached_open_tickets, end.base_customers, churned, end.stickiness, end.active_day, end.active_month,
        )

    def snapshot(self) -> SeriesSnapshot:
        """The series as plain data (see kpi.snapshots)."""
        return SeriesSnapshot(
            size=self.size_seconds,
            buckets=[(k, b.snapshot()) for k, b in self.buckets.items()],
            heap=list(self._heap),
            closed_through=self.closed_through,
            carry_open=list(self._carry_open.items()),
            carry_breached=list(self._carry_breached.items()),
            carry_base=self._carry_base,
            ends=[(k, e.snapshot()) for k, e in self._ends.items()],
            stickiness=self.stickiness.snapshot() if self.stickiness is not None else None,
        )

    def restore(self, s: SeriesSnapshot) -> None:
        """Continue from `snapshot()`'s state.

        Raises StateError when it was taken with another bucket size or stickiness
        setting, or does not hold together (an open bucket without its aggregates).
        """
        if s.size != self.size_seconds:
            raise StateError(f"series of {s.size} s buckets in the state, {self.size_seconds} s configured")
        if (self.stickiness is None) != (s.stickiness is None):
            raise StateError("stickiness tracking differs between the state and the configuration")
        buckets = {k: Bucket.from_snapshot(b) for k, b in s.buckets}
        missing = set(s.heap) - buckets.keys()
        if missing:
            raise StateError(f"open buckets {sorted(missing)[:3]} of the {s.size} s series have no aggregates")
        self.buckets = buckets
        self._heap = list(s.heap)  # a valid heap stays one through a round trip (same order)
        heapq.heapify(self._heap)  # and a corrupt one becomes one
        self.closed_through = s.closed_through
        self._carry_open = dict(s.carry_open)
        self._carry_breached = dict(s.carry_breached)
        self._carry_base = s.carry_base
        self._ends = {k: EndState.from_snapshot(e) for k, e in s.ends}
        if self.stickiness is not None and s.stickiness is not None:
            self.stickiness.restore(s.stickiness)


# After Series: compiled with mypyc, a NamedTuple naming a class defined below it crashes the import.
class ClosedBucket(NamedTuple):
    """A bucket an engine's series has just closed (`kpi.engine.Engine.drain_closed`)."""

    series: Series
    bucket_index: int
    bucket: Bucket
    end: EndState

    def view(self) -> WindowView:
        """The view of this one bucket (what the replay reports)."""
        return Series.closed_view(self.bucket_index, self.series.size_seconds, self.bucket, self.end)
