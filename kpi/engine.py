"""The KPI engine: validated events in, bucketed aggregates and closed windows out.

One engine instance owns the per-entity state (tickets, customers, seen event ids) and
feeds one or more `Series`. It is driven the same way by `kpi-monitor replay` and by the
stream worker, so both produce the same numbers for the same events. Each piece of state
encodes and restores itself (`snapshot()`); `kpi.state` turns an engine's snapshot into a
checkpoint.
"""

from __future__ import annotations

import bisect
import heapq
import math
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from kpi import contract
from kpi.aggregates import OVERALL, LabelKey, add_count
from kpi.config import EngineConfig, SeriesSpec
from kpi.contract import Decoder, Event, Rejected
from kpi.dedup import Deduplicator
from kpi.errors import StateError
from kpi.labels import LabelPolicy
from kpi.series import ClosedBucket, Series
from kpi.sketches import DistinctCounter
from kpi.sla import OpenTicket
from kpi.snapshots import CustomerSnapshot, EngineSnapshot, StatsSnapshot, TicketSnapshot
from kpi.windows import Watermark

ACCEPTED = "accepted"
DUPLICATE = "duplicate"


class _Ticket:
    """A ticket while it is tracked (created, until `ticket_retention_seconds` after)."""

    __slots__ = ("created_ts", "team", "priority", "keys", "replies", "reopened", "open", "breach_from", "replied")

    def __init__(self, created_ts: float, team: str, priority: str, keys: tuple[LabelKey, ...], breach_at: float) -> None:
        self.created_ts = created_ts
        self.team = team
        self.priority = priority
        self.keys = keys
        self.replies = 0
        self.reopened = False
        self.open = True
        self.breach_from = breach_at  # when the current open spell starts counting as breached
        self.replied = False

    def snapshot(self, ticket_id: str) -> TicketSnapshot:
        return TicketSnapshot(
            ticket_id, self.created_ts, self.team, self.priority, list(self.keys), self.replies, self.reopened, self.open,
            self.breach_from, self.replied,
        )

    @staticmethod
    def from_snapshot(s: TicketSnapshot) -> _Ticket:
        t = _Ticket(s.created_ts, s.team, s.priority, tuple(s.keys), s.breach_from)
        t.replies, t.reopened, t.open, t.replied = s.replies, s.reopened, s.open, s.replied
        return t


_SIGNUP, _CHURN = 0, 1  # at equal times a signup sorts before a churn


class _Customer:
    """Membership of the churn base, kept so that arrival order within the grace does not matter.

    `since` is the start of the membership spell after every settled lifecycle event (None: not
    a member); `recent` holds the (ts, kind) events that a later arrival could still precede.
    """

    __slots__ = ("since", "recent")

    def __init__(self) -> None:
        self.since: float | None = None
        self.recent: list[tuple[float, int]] = []

    def snapshot(self, customer_id: str) -> CustomerSnapshot:
        return CustomerSnapshot(customer_id, self.since, list(self.recent))

    @staticmethod
    def from_snapshot(s: CustomerSnapshot) -> _Customer:
        c = _Customer()
        c.since = s.since
        c.recent = list(s.recent)
        return c


@dataclass
class Stats:
    """What an engine has counted: messages read, accepted, duplicates, rejected by reason,
    tickets expired (retention) and customers evicted (the `max_customers` cap)."""

    read: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: Counter = field(default_factory=Counter)
    tickets_expired: int = 0
    customers_evicted: int = 0

    def snapshot(self) -> StatsSnapshot:
        """The counters as plain data (see kpi.snapshots)."""
        return StatsSnapshot(
            self.read, self.accepted, self.duplicates, dict(self.rejected), self.tickets_expired, self.customers_evicted
        )

    def add(self, s: StatsSnapshot) -> None:
        """Add counters taken by `snapshot()` (into a fresh Stats: restore them)."""
        self.read += s.read
        self.accepted += s.accepted
        self.duplicates += s.duplicates
        self.rejected.update(s.rejected)
        self.tickets_expired += s.tickets_expired
        self.customers_evicted += s.customers_evicted


class Engine:
    """Validated events in; per-series buckets, closed windows and trailing views out.

    `config`: the rules (grace, SLA targets, label caps, retention); `series`: one bucketed
    series per spec (default: one of `config.window_seconds`, with stickiness, keeping
    nothing after a close: the replay's). Feed it with `process_raw` (or `process_decoded`);
    take closed buckets with `drain_closed()` and trailing windows with
    `engine.series[i].view(...)`. Input never makes it raise: bad events come back as a
    `Rejected` with a reason from `kpi.reasons`.

    Event times are seconds since the Unix epoch. State is bounded: tickets expire
    `ticket_retention_seconds` after creation, customers beyond `max_customers` are evicted
    oldest first, event ids are remembered about the grace, label values are capped.
    """

    def __init__(self, config: EngineConfig, series: tuple[SeriesSpec, ...] | None = None) -> None:
        self.config = config
        self.decoder = Decoder(config.reporting_currency, config.fx_rates)
        self.watermark = Watermark(config.grace_seconds)
        self.labels = LabelPolicy(config.max_label_values, dict(config.label_allow))
        specs = series or (SeriesSpec(config.window_seconds, 0, stickiness=True),)
        self.series = tuple(Series(s.bucket_seconds, s.retain_closed, s.stickiness) for s in specs)
        self.stats = Stats()
        self._dedup = Deduplicator(config.grace_seconds)
        self._next_dedup_expiry = -float("inf")
        self._tickets: dict[str, _Ticket] = {}
        self._ticket_expiry: list[tuple[float, str]] = []
        self._customers: dict[str, _Customer] = {}
        self._sla = config.sla.targets_seconds
        self._group_by = config.group_by
        self._closed: list[ClosedBucket] = []
        self._survey_key_cache: dict[tuple[object, object], tuple[LabelKey, ...]] = {}
        # Optional observer of every resolution (team, priority, seconds), e.g. a histogram.
        self.on_resolution: Callable[[str, str, float], None] | None = None

    # -- input ----------------------------------------------------------------------------
    def process_raw(self, raw: bytes, not_after: float = float("inf")) -> str | Rejected:
        """Decode and process one message; never raises on bad input.

        `not_after`: reject events later than this as `future_timestamp`. The live worker
        passes wall clock + a tolerance: one event from a clock far ahead would otherwise
        move the watermark there and make every later event of its partition late.
        """
        self.stats.read += 1
        return self._after_decode(raw, self.decoder.decode(raw), not_after)

    def process_decoded(self, raw: bytes, decoded: Event | Rejected) -> str | Rejected:
        """`process_raw` for a caller that has decoded `raw` already (to route it, say)."""
        self.stats.read += 1
        return self._after_decode(raw, decoded, float("inf"))

    def _after_decode(self, raw: bytes, decoded: Event | Rejected, not_after: float) -> str | Rejected:
        if isinstance(decoded, Rejected):
            self.stats.rejected[decoded.reason] += 1
            return decoded
        if decoded.ts > not_after:
            rejected = self._reject(contract.FUTURE, f"event time is more than the tolerance ahead of the wall clock ({decoded.ts:.0f} > {not_after:.0f})")
            rejected.raw = raw
            return rejected
        outcome = self._process(decoded)
        if isinstance(outcome, Rejected):
            outcome.raw = raw
        return outcome

    def process(self, event: Event) -> str | Rejected:
        """Process one decoded event: ACCEPTED, DUPLICATE or a `Rejected` (no raw bytes)."""
        self.stats.read += 1
        return self._process(event)

    def _process(self, event: Event) -> str | Rejected:
        ts = event.ts
        wm = self.watermark
        if wm.is_late(ts):
            return self._reject(contract.LATE, f"event time is more than {wm.grace_seconds:g} s behind the watermark")
        if not self._dedup.first_time(event.event_id, ts):
            self.stats.duplicates += 1
            return DUPLICATE
        problem = self._dispatch(event, ts)
        if problem is not None:
            return problem
        self.stats.accepted += 1
        if event.type in _MAY_NOT_TOUCH_BUCKET:
            for s in self.series:
                s.at(s.index(ts))  # the event's window exists even if it changed no aggregate
        if wm.observe(ts):
            self._advance(wm.closed_before())
        return ACCEPTED

    def _dispatch(self, event: Event, ts: float) -> Rejected | None:
        # An if-chain, most frequent types first, rather than a dict of handlers: compiled,
        # these are direct native calls with an unboxed ts (a dict entry is a Python-level
        # call that boxes it), and the type strings are interned, so each test is one
        # pointer comparison.
        etype = event.type
        if etype == "customer.active":
            self._on_active(event, ts)
        elif etype == "feature.used":
            self._on_feature(event, ts)
        elif etype == "checkout.started":
            self._on_checkout(event, ts)
        elif etype == "survey.nps":
            self._on_nps(event, ts)
        elif etype == "order.placed":
            self._on_order(event, ts)
        elif etype == "customer.signed_up":
            self._on_signed_up(event, ts)
        elif etype == "ticket.created":
            return self._on_ticket_created(event, ts)
        elif etype == "ticket.agent_replied":
            return self._on_agent_replied(event, ts)
        elif etype == "ticket.resolved":
            return self._on_resolved(event, ts)
        elif etype == "customer.churned":
            self._on_churned(event, ts)
        elif etype == "survey.csat":
            self._on_csat(event, ts)
        elif etype == "survey.ces":
            self._on_ces(event, ts)
        elif etype == "ticket.customer_replied":
            return self._on_customer_replied(event, ts)
        elif etype == "ticket.reopened":
            return self._on_reopened(event, ts)
        else:  # pragma: no cover - the decoder admits only SCHEMAS types
            raise AssertionError(f"no handler for {etype!r}")
        return None

    def _reject(self, reason: str, detail: str) -> Rejected:
        self.stats.rejected[reason] += 1
        return Rejected(reason, detail, b"")

    # -- time -------------------------------------------------------------------------------
    def _advance(self, boundary: float) -> None:
        expiry = self._ticket_expiry
        if expiry and expiry[0][0] <= boundary:
            self._expire_tickets(boundary)
        for s in self.series:
            if s.closes_by(boundary):
                for c in s.close_until(boundary):
                    self._closed.append(ClosedBucket(s, c.bucket_index, c.bucket, c.end))
        if boundary >= self._next_dedup_expiry:
            self._dedup.expire(boundary)
            slot = self._dedup.slot_seconds
            self._next_dedup_expiry = (boundary // slot + 1) * slot

    def advance_to(self, boundary: float) -> None:
        """Close what ends before `boundary` even without new events (used at shutdown)."""
        self._advance(boundary)

    def flush(self, watermark_seconds: float | None = None) -> None:
        """End of input: close every bucket up to the one holding the latest event.

        Buckets beyond it hold only future steps (SLA breach points), not windows anyone
        observed, so they are not reported. `watermark_seconds`: the latest event time of the
        whole stream when this engine saw one partition of it; the engine first moves on to
        it as if it had seen that event (expiring and closing what the whole stream would).
        """
        partition_seen_events = self.watermark.value != -math.inf
        if watermark_seconds is not None and self.watermark.observe(watermark_seconds):
            self._advance(self.watermark.closed_before())
        if self.watermark.value == -math.inf:
            return
        for s in self.series:
            last = s.index(self.watermark.value)
            if watermark_seconds is not None and partition_seen_events and (s.closed_through is None or last > s.closed_through):
                # Report every window through the stream's last, even where this partition
                # had no events: its open tickets and churn base carry into them.
                s.at(last)
            for c in s.close_through_index(last):
                self._closed.append(ClosedBucket(s, c.bucket_index, c.bucket, c.end))

    @property
    def has_closed(self) -> bool:
        """True when buckets have closed since the last `drain_closed()`."""
        return bool(self._closed)

    def drain_closed(self) -> list[ClosedBucket]:
        """The buckets closed since the last call, in the order they closed (per series:
        by index); `ClosedBucket.view()` is a closed window's view."""
        closed, self._closed = self._closed, []
        return closed

    # -- state -----------------------------------------------------------------------------
    def snapshot(self) -> EngineSnapshot:
        """Everything needed to continue where this engine is, as plain data (kpi.snapshots).

        Closed buckets not drained yet are not part of it: drain before taking it.
        """
        wm = self.watermark.value
        return EngineSnapshot(
            watermark=None if wm == -math.inf else wm,
            dedup=self._dedup.snapshot(),
            next_dedup_expiry=None if self._next_dedup_expiry == -math.inf else self._next_dedup_expiry,
            tickets=[t.snapshot(tid) for tid, t in self._tickets.items()],
            ticket_expiry=list(self._ticket_expiry),
            customers=[c.snapshot(cid) for cid, c in self._customers.items()],
            labels=self.labels.snapshot(),
            stats=self.stats.snapshot(),
            series=[s.snapshot() for s in self.series],
        )

    @staticmethod
    def from_snapshot(s: EngineSnapshot, config: EngineConfig, series: tuple[SeriesSpec, ...] | None = None) -> Engine:
        """An engine built from `config` and `series` that continues from `snapshot()`'s state.

        Raises StateError when the snapshot does not fit the series (their number, bucket
        sizes, stickiness) or does not hold together. Whether it was taken under the same
        configuration is the caller's to check (kpi.state compares fingerprints).
        """
        engine = Engine(config, series)
        if len(s.series) != len(engine.series):
            raise StateError(f"the state has {len(s.series)} series, the configuration {len(engine.series)}")
        engine.watermark.value = -math.inf if s.watermark is None else s.watermark
        engine._dedup.restore(s.dedup)
        engine._next_dedup_expiry = -math.inf if s.next_dedup_expiry is None else s.next_dedup_expiry
        engine._tickets = {t.ticket_id: _Ticket.from_snapshot(t) for t in s.tickets}
        engine._ticket_expiry = list(s.ticket_expiry)
        heapq.heapify(engine._ticket_expiry)  # a no-op on the heap it was taken from
        engine._customers = {c.customer_id: _Customer.from_snapshot(c) for c in s.customers}
        engine.labels.restore(s.labels)
        engine.stats.add(s.stats)
        for target, snapshot in zip(engine.series, s.series):
            target.restore(snapshot)
        return engine

    # -- tickets ---------------------------------------------------------------------------
    def open_tickets(self) -> Iterator[OpenTicket]:
        """Every open ticket (team after the label cap, priority, creation time), for live SLA state."""
        for t in self._tickets.values():
            if t.open:
                yield OpenTicket(t.team, t.priority, t.created_ts)

    @property
    def tracked_tickets(self) -> int:
        """Tickets in memory (open, or resolved within their retention)."""
        return len(self._tickets)

    @property
    def tracked_customers(self) -> int:
        """Customers in memory (those with a lifecycle event, up to `max_customers`)."""
        return len(self._customers)

    def _ticket_keys(self, body: Any) -> tuple[LabelKey, ...]:
        keys: list[LabelKey] = [OVERALL]
        for dim in self._group_by:
            keys.append((dim, self.labels.map(dim, getattr(body, dim))))
        return tuple(keys)

    def _on_ticket_created(self, event: Event, ts: float) -> Rejected | None:
        body = event.body
        tid = body.ticket_id
        if tid in self._tickets:
            return self._reject(contract.TICKET_EXISTS, f"ticket {tid!r} was already created")
        priority = body.priority
        breach_at = ts + self._sla[priority]
        keys = self._ticket_keys(body)
        self._tickets[tid] = _Ticket(ts, self.labels.map("team", body.team), priority, keys, breach_at)
        heapq.heappush(self._ticket_expiry, (ts + self.config.ticket_retention_seconds, tid))
        for s in self.series:
            bucket = s.at(s.index(ts))
            breach_bucket = s.at(s.index(breach_at))
            for key in keys:
                bucket.group(key).created += 1
                add_count(bucket.open_delta, key, 1)
                add_count(breach_bucket.breached_open_delta, key, 1)
        return None

    def _ticket(self, event: Event) -> _Ticket | Rejected:
        tid = event.body.ticket_id
        ticket = self._tickets.get(tid)
        if ticket is None:
            return self._reject(contract.UNKNOWN_TICKET, f"no ticket.created seen for ticket {tid!r}")
        return ticket

    def _on_agent_replied(self, event: Event, ts: float) -> Rejected | None:
        ticket = self._ticket(event)
        if isinstance(ticket, Rejected):
            return ticket
        ticket.replies += 1
        if not ticket.replied:
            ticket.replied = True
            seconds = max(0.0, ts - ticket.created_ts)
            for s in self.series:
                bucket = s.at(s.index(ts))
                for key in ticket.keys:
                    bucket.group(key).add_first_response(seconds)
        return None

    def _on_customer_replied(self, event: Event, ts: float) -> Rejected | None:
        ticket = self._ticket(event)
        return ticket if isinstance(ticket, Rejected) else None

    def _on_reopened(self, event: Event, ts: float) -> Rejected | None:
        ticket = self._ticket(event)
        if isinstance(ticket, Rejected):
            return ticket
        ticket.reopened = True
        if ticket.open:
            return None
        ticket.open = True
        breach_from = max(ts, ticket.created_ts + self._sla[ticket.priority])
        ticket.breach_from = breach_from
        for s in self.series:
            bucket = s.at(s.index(ts))
            breach_bucket = s.at(s.index(breach_from))
            for key in ticket.keys:
                add_count(bucket.open_delta, key, 1)
                add_count(breach_bucket.breached_open_delta, key, 1)
        return None

    def _on_resolved(self, event: Event, ts: float) -> Rejected | None:
        ticket = self._ticket(event)
        if isinstance(ticket, Rejected):
            return ticket
        seconds = max(0.0, ts - ticket.created_ts)
        fcr = ticket.replies <= 1 and not ticket.reopened
        breached = self.config.sla.is_breach(ticket.priority, seconds)
        was_open = ticket.open
        ticket.open = False
        if self.on_resolution is not None:
            self.on_resolution(ticket.team, ticket.priority, seconds)
        for s in self.series:
            index = s.index(ts)
            bucket = s.at(index)
            for key in ticket.keys:
                bucket.group(key).add_resolution(seconds, fcr, breached)
            if was_open:
                self._close_spell(s, ticket, index)
        return None

    def _close_spell(self, s: Series, ticket: _Ticket, index: int) -> None:
        """Undo an open spell's step functions from bucket `index` on."""
        bucket = s.at(index)
        breach_bucket = s.at(max(index, s.index(ticket.breach_from)))
        for key in ticket.keys:
            add_count(bucket.open_delta, key, -1)
            add_count(breach_bucket.breached_open_delta, key, -1)

    def _expire_tickets(self, boundary: float) -> None:
        expiry = self._ticket_expiry
        while expiry and expiry[0][0] <= boundary:
            at, tid = heapq.heappop(expiry)
            ticket = self._tickets.pop(tid, None)
            if ticket is None:
                continue
            self.stats.tickets_expired += 1
            if ticket.open:
                for s in self.series:
                    self._close_spell(s, ticket, s.index(at))

    # -- surveys ---------------------------------------------------------------------------
    def _survey_keys(self, body: Any) -> tuple[LabelKey, ...]:
        raw = (body.team, body.channel)
        keys = self._survey_key_cache.get(raw)
        if keys is None:
            if len(self._survey_key_cache) >= 4096:  # raw values may be unbounded; the cache is not
                self._survey_key_cache.clear()
            keys = self._survey_key_cache[raw] = self._make_survey_keys(body)
        return keys

    def _make_survey_keys(self, body: Any) -> tuple[LabelKey, ...]:
        keys: list[LabelKey] = [OVERALL]
        for dim in ("team", "channel"):
            value = getattr(body, dim)
            if value is not None and dim in self._group_by:
                keys.append((dim, self.labels.map(dim, value)))
        return tuple(keys)

    def _on_nps(self, event: Event, ts: float) -> None:
        score = event.body.score
        keys = self._survey_keys(event.body)
        for s in self.series:
            bucket = s.at(s.index(ts))
            for key in keys:
                g = bucket.group(key)
                g.nps_n += 1
                if score >= 9:
                    g.nps_promoters += 1
                elif score <= 6:
                    g.nps_detractors += 1

    def _on_csat(self, event: Event, ts: float) -> None:
        satisfied = event.body.score >= 4
        keys = self._survey_keys(event.body)
        for s in self.series:
            bucket = s.at(s.index(ts))
            for key in keys:
                g = bucket.group(key)
                g.csat_n += 1
                if satisfied:
                    g.csat_satisfied += 1

    def _on_ces(self, event: Event, ts: float) -> None:
        score = event.body.score
        keys = self._survey_keys(event.body)
        for s in self.series:
            bucket = s.at(s.index(ts))
            for key in keys:
                g = bucket.group(key)
                g.ces_n += 1
                g.ces_sum += score

    # -- orders ----------------------------------------------------------------------------
    def _on_checkout(self, event: Event, ts: float) -> None:
        for s in self.series:
            s.at(s.index(ts)).checkouts += 1

    def _on_order(self, event: Event, ts: float) -> None:
        customer = event.body.customer_id
        for s in self.series:
            bucket = s.at(s.index(ts))
            bucket.orders += 1
            bucket.revenue_micros += event.amount_micros
            bucket.ordering_customers.add(customer)

    # -- customers -------------------------------------------------------------------------
    def _customer(self, customer_id: str) -> _Customer:
        c = self._customers.get(customer_id)
        if c is None:
            if len(self._customers) >= self.config.max_customers:
                # Oldest first: evicting loses churn attribution for that customer only.
                del self._customers[next(iter(self._customers))]
                self.stats.customers_evicted += 1
            c = self._customers[customer_id] = _Customer()
        return c

    def _on_signed_up(self, event: Event, ts: float) -> None:
        self._lifecycle(event.body.customer_id, ts, _SIGNUP)

    def _on_churned(self, event: Event, ts: float) -> None:
        self._lifecycle(event.body.customer_id, ts, _CHURN)

    def _lifecycle(self, customer_id: str, ts: float, kind: int) -> None:
        """Insert a signup or churn in time order and apply only what it changes.

        A signup while a member and a churn while not a member change nothing. Events
        older than the late boundary can no longer be preceded, so they are folded into
        `since`; the changes of an insertion all lie in buckets at or after `ts`, which
        are still open.
        """
        c = self._customer(customer_id)
        settled = self.watermark.closed_before()
        while c.recent and c.recent[0][0] < settled:
            t, k = c.recent.pop(0)
            if k == _CHURN:
                c.since = None
            elif c.since is None:
                c.since = t
        recent = c.recent
        if not recent or (ts, kind) >= recent[-1]:
            # In order (the usual case): the new event only adds its own step.
            since = c.since
            for t, k in recent:
                if k == _CHURN:
                    since = None
                elif since is None:
                    since = t
            if kind == _SIGNUP:
                if since is None:
                    for s in self.series:
                        s.at(s.index(ts) + 1).base_delta += 1
            elif since is not None:
                for s in self.series:
                    index = s.index(ts)
                    s.at(index + 1).base_delta -= 1
                    churned = s.at(index).churned_by_signup
                    signup_index = s.index(since)
                    churned[signup_index] = churned.get(signup_index, 0) + 1
            recent.append((ts, kind))
            return
        for s in self.series:
            before = _membership_steps(s, c.since, c.recent)
            after = _membership_steps(s, c.since, sorted([*c.recent, (ts, kind)]))
            for key in before.keys() | after.keys():
                n = after[key] - before[key]
                if not n:
                    continue
                if len(key) == 1:
                    s.at(key[0]).base_delta += n
                else:
                    churned = s.at(key[0]).churned_by_signup
                    churned[key[1]] = churned.get(key[1], 0) + n
        bisect.insort(c.recent, (ts, kind))

    def _on_active(self, event: Event, ts: float) -> None:
        customer = event.body.customer_id
        for s in self.series:
            index = s.index(ts)
            s.at(index).active.add(customer)
            if s.stickiness is not None:
                s.stickiness.active(index, customer)

    def _on_feature(self, event: Event, ts: float) -> None:
        customer = event.body.customer_id
        feature = self.labels.map("feature", event.body.feature)
        for s in self.series:
            index = s.index(ts)
            bucket = s.at(index)
            bucket.active.add(customer)
            users = bucket.features.get(feature)
            if users is None:
                users = bucket.features[feature] = DistinctCounter()
            users.add(customer)
            if s.stickiness is not None:
                s.stickiness.active(index, customer)


def _membership_steps(s: Series, since: float | None, recent: list[tuple[float, int]]) -> Counter:
    """The bucket contributions of a customer's spells that start or end in `recent`:
    (bucket,) -> base delta, (bucket, signup bucket) -> churns from the base."""
    out: Counter = Counter()
    for t, kind in recent:
        if kind == _SIGNUP:
            if since is None:
                since = t
                out[(s.index(t) + 1,)] += 1
        elif since is not None:
            index = s.index(t)
            out[(index + 1,)] -= 1
            out[(index, s.index(since))] += 1
            since = None
    return out


# Handlers that can accept an event without writing to its bucket.
_MAY_NOT_TOUCH_BUCKET = frozenset({
    "ticket.agent_replied", "ticket.customer_replied", "ticket.reopened",
    "customer.signed_up", "customer.churned",
})


