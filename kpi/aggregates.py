"""Per-bucket aggregates: small, fixed-shape, mergeable.

Sums are kept as integers (microseconds, micro-units of currency) so that merging
in any order gives bit-identical results.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

from kpi.sketches import DistinctCounter, QuantileSketch
from kpi.snapshots import BucketSnapshot, GroupCounts, GroupSnapshot

LabelKey = tuple[str, ...]  # () for overall, (dim, value) for one breakdown
OVERALL: LabelKey = ()

K = TypeVar("K")


def add_count(counts: dict[K, int], key: K, n: int) -> None:
    """counts[key] += n, starting from 0."""
    counts[key] = counts.get(key, 0) + n


def add_counts(target: dict[K, int], source: Mapping[K, int]) -> None:
    """Add every count of `source` into `target` (keys missing from `target` start at 0)."""
    for key, n in source.items():
        target[key] = target.get(key, 0) + n


class GroupAgg:
    """Survey and ticket flow for one label set in one bucket (or a merged window).

    Survey counts: responses, and NPS promoters (9-10) and detractors (0-6), CSAT
    satisfied (4-5), the CES score sum. Ticket counts: created, resolved (with the sum of
    resolution times in microseconds, a sketch of them, first-contact resolutions and SLA
    breaches), first responses (count, sum in microseconds, sketch). The sketches are None
    until their first value.
    """

    __slots__ = (
        "nps_n", "nps_promoters", "nps_detractors", "csat_n", "csat_satisfied", "ces_n", "ces_sum",
        "created", "resolved", "resolution_sum_us", "resolution", "first_response_n",
        "first_response_sum_us", "first_response", "fcr", "breached",
    )

    def __init__(self) -> None:
        self.nps_n = self.nps_promoters = self.nps_detractors = 0
        self.csat_n = self.csat_satisfied = 0
        self.ces_n = self.ces_sum = 0
        self.created = self.resolved = self.resolution_sum_us = 0
        self.first_response_n = self.first_response_sum_us = 0
        self.fcr = self.breached = 0
        self.resolution: QuantileSketch | None = None
        self.first_response: QuantileSketch | None = None

    def add_resolution(self, seconds: float, fcr: bool, breached: bool) -> None:
        """Count one resolution taking `seconds` (>= 0) since its ticket was created."""
        self.resolved += 1
        self.resolution_sum_us += round(seconds * 1_000_000)
        if self.resolution is None:
            self.resolution = QuantileSketch()
        self.resolution.add(seconds)
        if fcr:
            self.fcr += 1
        if breached:
            self.breached += 1

    def add_first_response(self, seconds: float) -> None:
        """Count one ticket's first agent reply, `seconds` (>= 0) after it was created."""
        self.first_response_n += 1
        self.first_response_sum_us += round(seconds * 1_000_000)
        if self.first_response is None:
            self.first_response = QuantileSketch()
        self.first_response.add(seconds)

    def merge(self, other: GroupAgg) -> None:
        """Add `other` (exact: counts and integer sums add, sketches merge)."""
        self.nps_n += other.nps_n
        self.nps_promoters += other.nps_promoters
        self.nps_detractors += other.nps_detractors
        self.csat_n += other.csat_n
        self.csat_satisfied += other.csat_satisfied
        self.ces_n += other.ces_n
        self.ces_sum += other.ces_sum
        self.created += other.created
        self.resolved += other.resolved
        self.resolution_sum_us += other.resolution_sum_us
        self.first_response_n += other.first_response_n
        self.first_response_sum_us += other.first_response_sum_us
        self.fcr += other.fcr
        self.breached += other.breached
        if other.resolution is not None:
            if self.resolution is None:
                self.resolution = other.resolution.copy()
            else:
                self.resolution.merge(other.resolution)
        if other.first_response is not None:
            if self.first_response is None:
                self.first_response = other.first_response.copy()
            else:
                self.first_response.merge(other.first_response)

    def snapshot(self) -> GroupSnapshot:
        """The aggregates as plain data (see kpi.snapshots)."""
        counts = GroupCounts(
            nps_n=self.nps_n, nps_promoters=self.nps_promoters, nps_detractors=self.nps_detractors,
            csat_n=self.csat_n, csat_satisfied=self.csat_satisfied, ces_n=self.ces_n, ces_sum=self.ces_sum,
            created=self.created, resolved=self.resolved, resolution_sum_us=self.resolution_sum_us,
            first_response_n=self.first_response_n, first_response_sum_us=self.first_response_sum_us,
            fcr=self.fcr, breached=self.breached,
        )
        resolution = self.resolution.snapshot() if self.resolution is not None else None
        first_response = self.first_response.snapshot() if self.first_response is not None else None
        return GroupSnapshot(counts, resolution, first_response)

    @staticmethod
    def from_snapshot(s: GroupSnapshot) -> GroupAgg:
        """The aggregates `snapshot()` describes."""
        g = GroupAgg()
        c = s.counts
        g.nps_n, g.nps_promoters, g.nps_detractors = c.nps_n, c.nps_promoters, c.nps_detractors
        g.csat_n, g.csat_satisfied = c.csat_n, c.csat_satisfied
        g.ces_n, g.ces_sum = c.ces_n, c.ces_sum
        g.created, g.resolved, g.resolution_sum_us = c.created, c.resolved, c.resolution_sum_us
        g.first_response_n, g.first_response_sum_us = c.first_response_n, c.first_response_sum_us
        g.fcr, g.breached = c.fcr, c.breached
        g.resolution = QuantileSketch.from_snapshot(s.resolution) if s.resolution is not None else None
        g.first_response = QuantileSketch.from_snapshot(s.first_response) if s.first_response is not None else None
        return g


class Bucket:
    """Everything one series knows about one bucket [k*size, (k+1)*size) (or, merged, a window).

    Flows: `groups` (GroupAgg per label key), checkouts, orders, revenue (micro-units of
    the reporting currency), distinct ordering and active customers, distinct users per
    feature, churns by signup bucket. Step-function deltas: open tickets, breached open
    tickets (per label key) and the churn base.
    """

    __slots__ = (
        "groups", "open_delta", "breached_open_delta", "base_delta", "checkouts", "orders",
        "revenue_micros", "ordering_customers", "active", "features", "churned_by_signup",
    )

    def __init__(self) -> None:
        self.groups: dict[LabelKey, GroupAgg] = {}
        # Deltas of step functions (open tickets, breached open tickets, churn base);
        # their running sum through bucket k is the value at the end of bucket k.
        self.open_delta: dict[LabelKey, int] = {}
        self.breached_open_delta: dict[LabelKey, int] = {}
        self.base_delta = 0
        self.checkouts = self.orders = self.revenue_micros = 0
        self.ordering_customers = DistinctCounter()
        self.active = DistinctCounter()
        self.features: dict[str, DistinctCounter] = {}
        # Churns of customers in this bucket, by the bucket index of their signup, so a
        # window starting at bucket j can count only customers who signed up before j.
        self.churned_by_signup: dict[int, int] = {}

    def group(self, key: LabelKey) -> GroupAgg:
        """The aggregates of label key `key`, created empty on first use."""
        g = self.groups.get(key)
        if g is None:
            g = self.groups[key] = GroupAgg()
        return g

    def merge_flows(self, other: Bucket) -> None:
        """Merge the windowed (flow) parts; deltas are summed separately by the series."""
        for key, g in other.groups.items():
            self.group(key).merge(g)
        self.checkouts += other.checkouts
        self.orders += other.orders
        self.revenue_micros += other.revenue_micros
        self.ordering_customers.merge(other.ordering_customers)
        self.active.merge(other.active)
        for feature, users in other.features.items():
            mine = self.features.get(feature)
            if mine is None:
                self.features[feature] = users.copy()
            else:
                mine.merge(users)
        add_counts(self.churned_by_signup, other.churned_by_signup)

    def merge_deltas(self, other: Bucket) -> None:
        """Add `other`'s step-function deltas (open, breached open, churn base)."""
        add_counts(self.open_delta, other.open_delta)
        add_counts(self.breached_open_delta, other.breached_open_delta)
        self.base_delta += other.base_delta

    def snapshot(self) -> BucketSnapshot:
        """The bucket as plain data (see kpi.snapshots)."""
        return BucketSnapshot(
            [(k, g.snapshot()) for k, g in self.groups.items()],
            list(self.open_delta.items()),
            list(self.breached_open_delta.items()),
            self.base_delta,
            self.checkouts,
            self.orders,
            self.revenue_micros,
            self.ordering_customers.snapshot(),
            self.active.snapshot(),
            [(f, c.snapshot()) for f, c in self.features.items()],
            list(self.churned_by_signup.items()),
        )

    @staticmethod
    def from_snapshot(s: BucketSnapshot) -> Bucket:
        """The bucket `snapshot()` describes. Raises StateError for a malformed sketch."""
        b = Bucket()
        b.groups = {k: GroupAgg.from_snapshot(g) for k, g in s.groups}
        b.open_delta = dict(s.open_delta)
        b.breached_open_delta = dict(s.breached_open_delta)
        b.base_delta, b.checkouts, b.orders, b.revenue_micros = s.base_delta, s.checkouts, s.orders, s.revenue_micros
        b.ordering_customers = DistinctCounter.from_snapshot(s.ordering_customers)
        b.active = DistinctCounter.from_snapshot(s.active)
        b.features = {f: DistinctCounter.from_snapshot(c) for f, c in s.features}
        b.churned_by_signup = dict(s.churned_by_signup)
        return b
