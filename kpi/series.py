"""A series of tumbling buckets of one size: where events land, close and get viewed.

The replay uses one series whose bucket is the report window and keeps nothing after a
bucket closes. The worker uses one series per trailing window (e.g. 1-minute buckets for
the last 5 minutes) and keeps the closed buckets that window needs.
"""

from __future__ import annotations

import heapq
from math import floor as _floor
from dataclasses import dataclass

from kpi.aggregates import Bucket, LabelKey
from kpi.stickiness import StickinessTracker

MAX_GAP_BUCKETS = 10_000


@dataclass(slots=True)
class EndState:
    """Step-function values: open tickets at the bucket's end, churn base at its start."""

    open_tickets: dict[LabelKey, int]
    breached_open_tickets: dict[LabelKey, int]
    base_customers: int
    stickiness: float | None
    # DAU and MAU behind `stickiness`, so closed buckets of disjoint customer partitions
    # can merge (the parallel replay).
    active_day: int = 0
    active_month: int = 0


@dataclass(slots=True)
class WindowView:
    """KPI inputs for the window [start_index, end_index] of a series (inclusive buckets)."""

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


def _sum_into(target: dict, source: dict) -> None:
    for key, n in source.items():
        target[key] = target.get(key, 0) + n


class Series:
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
        return _floor(ts_seconds / self.size_seconds)  # = window_index(), one call cheaper

    def at(self, index: int) -> Bucket:
        b = self.buckets.get(index)
        if b is None:
            b = self.buckets[index] = Bucket()
            heapq.heappush(self._heap, index)
        return b

    def close_until(self, boundary_seconds: float) -> list[tuple[int, Bucket, EndState]]:
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
            _sum_into(self._carry_open, bucket.open_delta)
            _sum_into(self._carry_breached, bucket.breached_open_delta)
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
            closed.append((k, bucket, end))
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

    def close_through_index(self, index: int) -> list[tuple[int, Bucket, EndState]]:
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
                _sum_into(opened, bucket.open_delta)
                _sum_into(breached, bucket.breached_open_delta)
                base += bucket.base_delta
        return opened, breached, base

    def view(self, start_index: int, end_index: int) -> WindowView:
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
