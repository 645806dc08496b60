"""Stickiness (DAU/MAU) at bucket ends, exact and with state bounded by 30 days of customers.

Each customer sits in the member set of the last closed bucket it was active in. At the
end of bucket k, DAU counts customers whose last activity falls in the day ending there,
and MAU those in the 30 days ending there. Activity ahead of the closed frontier waits in
`pending` until its bucket closes, so the answer does not depend on arrival order.
"""

from __future__ import annotations

from typing import NamedTuple

from kpi.durations import DAY_SECONDS
from kpi.snapshots import StickinessSnapshot

MONTH_DAYS = 30


class ActiveCounts(NamedTuple):
    """Distinct active customers at a bucket's end: in the day and in the 30 days ending there."""

    day: int
    month: int


class StickinessTracker:
    """DAU and MAU at the end of each closed bucket of one series (bucket size divides a day).

    `pending`: bucket index -> customers active in it, not closed yet. `members`: bucket
    index -> customers whose last activity in closed buckets is there (each customer in one
    set, buckets of the last 30 days only). `last_bucket`: customer -> that bucket.
    """

    __slots__ = ("day_buckets", "month_buckets", "pending", "members", "last_bucket")

    def __init__(self, bucket_seconds: int) -> None:
        self.day_buckets = DAY_SECONDS // bucket_seconds
        self.month_buckets = MONTH_DAYS * self.day_buckets
        self.pending: dict[int, set[str]] = {}
        self.members: dict[int, set[str]] = {}
        self.last_bucket: dict[str, int] = {}

    def active(self, bucket: int, customer_id: str) -> None:
        """Note a customer active in bucket `bucket` (counted when the bucket closes)."""
        p = self.pending.get(bucket)
        if p is None:
            p = self.pending[bucket] = set()
        p.add(customer_id)

    def counts_at(self, bucket: int) -> ActiveCounts:
        """(DAU, MAU) at the end of `bucket` over the closed history, without closing anything.

        Views use this rather than the last close: a partition that has been idle since
        still ages its customers out of the day and the month.
        """
        day_floor = bucket - self.day_buckets
        month_floor = bucket - self.month_buckets
        dau = mau = 0
        for b, who in self.members.items():
            if month_floor < b <= bucket:
                mau += len(who)
                if b > day_floor:
                    dau += len(who)
        return ActiveCounts(dau, mau)

    def close(self, bucket: int) -> ActiveCounts:
        """Move bucket's activity into the history; return (DAU, MAU) at its end."""
        arrivals = self.pending.pop(bucket, None)
        if arrivals:
            members, last = self.members, self.last_bucket
            here = members.setdefault(bucket, set())
            for customer in arrivals:
                previous = last.get(customer)
                if previous is not None and previous != bucket:
                    old = members[previous]
                    old.discard(customer)
                    if not old:
                        del members[previous]
                last[customer] = bucket
                here.add(customer)
        day_floor = bucket - self.day_buckets
        month_floor = bucket - self.month_buckets
        dau = mau = 0
        expired = []
        for b, who in self.members.items():
            if b <= month_floor:
                expired.append(b)
                continue
            mau += len(who)
            if b > day_floor:
                dau += len(who)
        for b in expired:
            for customer in self.members.pop(b):
                del self.last_bucket[customer]
        return ActiveCounts(dau, mau)

    def snapshot(self) -> StickinessSnapshot:
        """The tracker as plain data (see kpi.snapshots); `last_bucket` follows from `members`."""
        return StickinessSnapshot(
            [(k, sorted(v)) for k, v in self.pending.items()],
            [(k, sorted(v)) for k, v in self.members.items()],
        )

    def restore(self, s: StickinessSnapshot) -> None:
        """Continue from `snapshot()`'s state (the bucket size is this tracker's own)."""
        self.pending = {k: set(v) for k, v in s.pending}
        self.members = {k: set(v) for k, v in s.members}
        self.last_bucket = {c: k for k, v in s.members for c in v}
