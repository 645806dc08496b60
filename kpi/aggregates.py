"""Per-bucket aggregates: small, fixed-shape, mergeable.

Sums are kept as integers (microseconds, micro-units of currency) so that merging
in any order gives bit-identical results.
"""

from __future__ import annotations

from kpi.sketches import DistinctCounter, QuantileSketch

LabelKey = tuple[str, ...]  # () for overall, (dim, value) for one breakdown
OVERALL: LabelKey = ()


class GroupAgg:
    """Survey and ticket flow for one label set in one bucket."""

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
        self.first_response_n += 1
        self.first_response_sum_us += round(seconds * 1_000_000)
        if self.first_response is None:
            self.first_response = QuantileSketch()
        self.first_response.add(seconds)

    def merge(self, other: GroupAgg) -> None:
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


def _add(d: dict, key, n: int) -> None:
    d[key] = d.get(key, 0) + n


class Bucket:
    """Everything one series knows about one bucket [k*size, (k+1)*size)."""

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
        for signup, n in other.churned_by_signup.items():
            _add(self.churned_by_signup, signup, n)

    def merge_deltas(self, other: Bucket) -> None:
        for key, n in other.open_delta.items():
            _add(self.open_delta, key, n)
        for key, n in other.breached_open_delta.items():
            _add(self.breached_open_delta, key, n)
        self.base_delta += other.base_delta
