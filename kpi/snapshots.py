"""The typed shapes of engine state, as checkpoints and partial views hold it.

Each stateful class turns itself into one of these (`snapshot()`) and back
(`from_snapshot()`, or `restore()` for objects built from the configuration first);
`kpi.state` adds the format version, the configuration fingerprint and compression, and
msgspec validates the shapes when it reads them back.

The layout is the one format version 1 has had since it was first written, so checkpoints
and partials written before these types existed decode unchanged
(tests/kpi/data/checkpoint-v1.zlib): the many small records are array-like (encoded as
positional lists, compact), the few large ones are objects. To extend a record, add a field
at the end with a default; never reorder fields.

Not compiled with mypyc (see kpi.COMPILED_MODULES): compiled, a Struct class loses its
class options (`array_like`, `gc`), which would silently change the format.
tests/kpi/test_state.py checks that these options are in effect.

Units as in the classes they mirror: seconds since the Unix epoch (floats) for event times,
bucket indices (ints, `floor(ts / bucket_seconds)`), counts, microseconds and micro-units of
currency (ints).
"""

from __future__ import annotations

from typing import Literal

import msgspec

from kpi.contract import PRIORITIES

Priority = Literal[PRIORITIES]  # type: ignore[valid-type]
LabelKeySnapshot = tuple[str, ...]  # () overall, (dimension, value) for one breakdown
LabelCounts = list[tuple[LabelKeySnapshot, int]]  # a dict[LabelKey, int] as pairs


class QuantileSnapshot(msgspec.Struct, array_like=True, gc=False):
    """A `kpi.sketches.QuantileSketch`: `counts` as (log bucket index, count) pairs; `low`
    and `high` None when empty (the sketch's +-inf are not JSON)."""

    zeros: int
    n: int
    low: float | None
    high: float | None
    counts: list[tuple[int, int]]


EXACT: Literal[0] = 0
HYPERLOGLOG: Literal[1] = 1


class DistinctSnapshot(msgspec.Struct, array_like=True, gc=False):
    """A `kpi.sketches.DistinctCounter`: kind EXACT with the sorted items, or kind
    HYPERLOGLOG with the registers as hex (2 x 2^14 characters)."""

    kind: Literal[0, 1]
    value: list[str] | str


class GroupCounts(msgspec.Struct, array_like=True, gc=False):
    """The integer fields of a `kpi.aggregates.GroupAgg` (sums in microseconds), under the
    same names and in the order of its `__slots__` (tests/kpi/test_state.py checks both, and
    that each survives a round trip)."""

    nps_n: int
    nps_promoters: int
    nps_detractors: int
    csat_n: int
    csat_satisfied: int
    ces_n: int
    ces_sum: int
    created: int
    resolved: int
    resolution_sum_us: int
    first_response_n: int
    first_response_sum_us: int
    fcr: int
    breached: int


class GroupSnapshot(msgspec.Struct, array_like=True, gc=False):
    """A `kpi.aggregates.GroupAgg`."""

    counts: GroupCounts
    resolution: QuantileSnapshot | None
    first_response: QuantileSnapshot | None


class BucketSnapshot(msgspec.Struct, array_like=True, gc=False):
    """A `kpi.aggregates.Bucket`; dicts as (key, value) pairs."""

    groups: list[tuple[LabelKeySnapshot, GroupSnapshot]]
    open_delta: LabelCounts
    breached_open_delta: LabelCounts
    base_delta: int
    checkouts: int
    orders: int
    revenue_micros: int
    ordering_customers: DistinctSnapshot
    active: DistinctSnapshot
    features: list[tuple[str, DistinctSnapshot]]
    churned_by_signup: list[tuple[int, int]]  # (signup bucket index, churns)


class EndSnapshot(msgspec.Struct, array_like=True, gc=False):
    """A `kpi.series.EndState`. DAU and MAU were added within version 1: older
    checkpoints end after `stickiness`."""

    open_tickets: LabelCounts
    breached_open_tickets: LabelCounts
    base_customers: int
    stickiness: float | None
    active_day: int = 0
    active_month: int = 0


class StickinessSnapshot(msgspec.Struct):
    """A `kpi.stickiness.StickinessTracker`: customer ids by bucket index, sorted."""

    pending: list[tuple[int, list[str]]]
    members: list[tuple[int, list[str]]]


class SeriesSnapshot(msgspec.Struct):
    """A `kpi.series.Series`. (Checkpoints written before DAU and MAU moved into the ends
    also carry "last_stickiness"; it is recomputed at every close, so it is ignored.)"""

    size: int
    buckets: list[tuple[int, BucketSnapshot]]
    heap: list[int]  # indices of the buckets not closed yet, in heap order
    closed_through: int | None
    carry_open: LabelCounts
    carry_breached: LabelCounts
    carry_base: int
    ends: list[tuple[int, EndSnapshot]]
    stickiness: StickinessSnapshot | None


class TicketSnapshot(msgspec.Struct, array_like=True, gc=False):
    """One ticket the engine tracks (`kpi.engine`'s ticket record)."""

    ticket_id: str
    created_ts: float
    team: str  # after the label cap
    priority: Priority
    keys: list[LabelKeySnapshot]  # the label sets its flows are counted under
    replies: int
    reopened: bool
    open: bool
    breach_from: float  # when the current open spell starts counting as breached
    replied: bool


class CustomerSnapshot(msgspec.Struct, array_like=True, gc=False):
    """One customer of the churn base (`kpi.engine`'s customer record): `since` the start
    of the membership spell, `recent` the (ts, kind) lifecycle events still within the
    grace (kind 0 signup, 1 churn)."""

    customer_id: str
    since: float | None
    recent: list[tuple[float, int]]


class StatsSnapshot(msgspec.Struct, array_like=True, gc=False):
    """A `kpi.engine.Stats`: the engine's counters."""

    read: int
    accepted: int
    duplicates: int
    rejected: dict[str, int]  # reason -> events
    tickets_expired: int
    customers_evicted: int


DedupSnapshot = list[tuple[int, list[str]]]  # (time slot, event ids), see kpi.dedup
LabelsSnapshot = dict[str, list[str]]  # dimension -> values admitted, sorted, see kpi.labels


class EngineSnapshot(msgspec.Struct):
    """A `kpi.engine.Engine`: everything it needs to continue where it stopped."""

    watermark: float | None  # None: no event seen yet
    dedup: DedupSnapshot
    next_dedup_expiry: float | None
    tickets: list[TicketSnapshot]
    ticket_expiry: list[tuple[float, str]]  # (expiry time, ticket id), in heap order
    customers: list[CustomerSnapshot]  # oldest first: the eviction order
    labels: LabelsSnapshot
    stats: StatsSnapshot
    series: list[SeriesSnapshot]


class ViewSnapshot(msgspec.Struct, array_like=True, gc=False):
    """A `kpi.series.WindowView` (a worker's partial view of one trailing window); the
    stickiness ratio is recomputed from DAU and MAU."""

    start_seconds: int
    end_seconds: int
    flows: BucketSnapshot
    open_tickets: LabelCounts
    breached_open_tickets: LabelCounts
    base_customers: int
    churned_from_base: int
    active_day: int
    active_month: int
