"""Deterministic simulation of a service desk and its customers.

Events come out in simulated-time order. Every slot advances the clock by an
exponential gap (Poisson arrivals at the configured rate) and emits either
the earliest follow-up that is due (a ticket's next step, a checkout turning
into an order, a post-resolution survey) or, if none is due, a new
"spontaneous" event (ticket opened, customer active, ...). Follow-ups that
are late because the stream is busy are emitted at the slot's time, so each
ticket's events stay in order with non-decreasing `ts`.

Memory is bounded: open tickets are capped (see `_ticket_created`), as are
customers and pending follow-ups.

`t` is always simulated time in seconds since the epoch.
"""

from __future__ import annotations

import random
from collections import OrderedDict
from heapq import heapify, heappop, heappush
from typing import Any, Callable, Iterator, NamedTuple

from streams.generator import catalog as cat
from streams.generator import tickets as tk
from streams.generator.config import GeneratorConfig
from streams.generator.customers import CustomerPool
from streams.generator.routing import CUSTOMERS, ORDERS, SURVEYS, TICKETS
from streams.generator.sampling import WeightedChoice, lognormal_seconds
from streams.generator.timefmt import make_ts_formatter

Payload = dict[str, Any]


class Event(NamedTuple):
    """One simulated event: its time (`ts_seconds`, seconds since the epoch), the logical topic
    it goes to (`routing.ROUTES`), its message key (the ticket or customer id) and its JSON body
    (`payload`: a dict with event_id, type, ts and the type's fields)."""

    ts_seconds: float
    topic: str  # logical topic, see routing.py
    key: str  # message key: ticket_id or customer_id
    payload: Payload


# Kinds of pending follow-up in the heap.
_TICKET_STEP = 0
_ORDER = 1

_SPONTANEOUS = WeightedChoice.from_mapping(cat.SPONTANEOUS_WEIGHTS)
_RELATIONSHIP_SURVEY = WeightedChoice.from_mapping(cat.RELATIONSHIP_SURVEY_TYPE_WEIGHTS)
_SCORES = {
    survey_type: (
        WeightedChoice(range(s.low, s.low + len(s.weights)), s.weights),
        WeightedChoice(range(s.low, s.low + len(s.bad_experience_weights)), s.bad_experience_weights),
    )
    for survey_type, s in cat.SCORE_SCALES.items()
}
# Rebuild the heap once stale entries (of force-closed tickets) outnumber live ones.
_MIN_STALE_BEFORE_COMPACTION = 1024


def simulation_rng(seed: int) -> random.Random:
    """The simulation's random generator for `seed`: the same seed gives the same events in every
    interpreter (a string seed is hashed with SHA-512, so it does not depend on PYTHONHASHSEED)."""
    return random.Random(f"kpi-monitor-generator/simulation/{seed}")


class Simulation:
    """Infinite, deterministic stream of valid events (contract v1)."""

    def __init__(self, config: GeneratorConfig) -> None:
        rng = simulation_rng(config.seed)
        self._rng = rng
        # Ids carry a per-seed token so runs with different seeds can share a
        # topic without their tickets, customers or events colliding.
        token = f"{rng.getrandbits(32):08x}"
        self._event_id_prefix = f"ev-{token}-"
        self._ticket_id_prefix = f"tk-{token}-"
        self._order_id_prefix = f"or-{token}-"
        self._event_seq = 0
        self._ticket_seq = 0
        self._order_seq = 0
        self._rate_per_second = config.rate_per_second
        self._format_ts: Callable[[float], Any] = make_ts_formatter(config.ts_format)
        self.clock_seconds = config.start_seconds

        self.customers = CustomerPool(rng, config.max_customers, f"cu-{token}-")
        self.open_tickets: OrderedDict[str, tk.Ticket] = OrderedDict()
        self._max_open_tickets = config.max_open_tickets
        # Auto-closing only tickets past every SLA target keeps lifecycles,
        # and so breach rates, realistic; otherwise the desk is "at
        # capacity" and opens no new ticket.
        self._stale_ticket_seconds = config.stale_ticket_seconds
        # Checkouts waiting to convert and surveys waiting to be answered.
        self._max_followups = config.max_open_tickets
        self._followups = 0
        self._pending: list[tuple[float, int, int, Any, int]] = []
        self._push_seq = 0
        self._stale = 0

        self.type_counts: dict[str, int] = {}
        self.tickets_expired = 0
        self.tickets_not_opened = 0
        self.followups_skipped = 0

        self._spontaneous_makers: dict[str, Callable[[float], Event]] = {
            "ticket.created": self._ticket_created,
            "survey": self._relationship_survey,
            "checkout.started": self._checkout_started,
            "customer.active": self._customer_active,
            "feature.used": self._feature_used,
            "customer.signed_up": self._signed_up,
            "customer.churned": self._churned,
        }

    # -- public ---------------------------------------------------------------

    def __iter__(self) -> Iterator[Event]:
        rng = self._rng
        pending = self._pending
        rate = self._rate_per_second
        t = self.clock_seconds
        while True:
            t += rng.expovariate(rate)
            self.clock_seconds = t
            event = None
            while event is None:
                if pending and pending[0][0] <= t:
                    event = self._follow_up(t)
                else:
                    event = self._spontaneous(t)
            yield event

    def sizes(self) -> dict[str, int]:
        """Sizes of every structure that grows with the run, for tests and stats."""
        return {
            "open_tickets": len(self.open_tickets),
            "pending": len(self._pending),
            "followups": self._followups,
            "customers": len(self.customers),
            "churned_remembered": self.customers.churned_remembered,
        }

    # -- building events --------------------------------------------------------

    def _head(self, event_type: str, t: float) -> Payload:
        self._event_seq += 1
        counts = self.type_counts
        counts[event_type] = counts.get(event_type, 0) + 1
        return {
            "event_id": f"{self._event_id_prefix}{self._event_seq}",
            "type": event_type,
            "ts": self._format_ts(t),
        }

    def _customer_event(self, event_type: str, t: float, customer_id: str) -> Event:
        payload = self._head(event_type, t)
        payload["customer_id"] = customer_id
        return Event(t, CUSTOMERS, customer_id, payload)

    def _ticket_event(self, event_type: str, t: float, ticket: tk.Ticket) -> Event:
        payload = self._head(event_type, t)
        payload["ticket_id"] = ticket.ticket_id
        return Event(t, TICKETS, ticket.ticket_id, payload)

    def _push(self, due_seconds: float, kind: int, item: Any, version: int = 0) -> None:
        self._push_seq += 1
        heappush(self._pending, (due_seconds, self._push_seq, kind, item, version))

    # -- spontaneous events -----------------------------------------------------

    def _spontaneous(self, t: float) -> Event:
        n_customers = len(self.customers)
        if n_customers < cat.WARMUP_CUSTOMERS and (n_customers == 0 or self._rng.random() < 0.5):
            return self._signed_up(t)
        return self._spontaneous_makers[_SPONTANEOUS(self._rng)](t)

    def _signed_up(self, t: float) -> Event:
        return self._customer_event("customer.signed_up", t, self.customers.sign_up())

    def _churned(self, t: float) -> Event:
        if len(self.customers) <= cat.WARMUP_CUSTOMERS:
            return self._customer_active(t)
        customer_id = self.customers.churn()
        assert customer_id is not None
        return self._customer_event("customer.churned", t, customer_id)

    def _customer_active(self, t: float) -> Event:
        customer_id = self.customers.pick()
        if customer_id is None:
            return self._signed_up(t)
        return self._customer_event("customer.active", t, customer_id)

    def _feature_used(self, t: float) -> Event:
        picked = self.customers.pick_feature_user()
        if picked is None:
            return self._customer_active(t)
        customer_id, feature = picked
        event = self._customer_event("feature.used", t, customer_id)
        event.payload["feature"] = feature
        return event

    def _relationship_survey(self, t: float) -> Event:
        customer_id = self.customers.pick()
        if customer_id is None:
            return self._signed_up(t)
        survey_type = _RELATIONSHIP_SURVEY(self._rng)
        payload = self._head(survey_type, t)
        payload["customer_id"] = customer_id
        payload["score"] = _SCORES[survey_type][0](self._rng)
        return Event(t, SURVEYS, customer_id, payload)

    def _checkout_started(self, t: float) -> Event:
        rng = self._rng
        customer_id = self.customers.pick()
        if customer_id is None:
            return self._signed_up(t)
        payload = self._head("checkout.started", t)
        payload["customer_id"] = customer_id
        if rng.random() < cat.CHECKOUT_CONVERSION_PROBABILITY:
            if self._followups < self._max_followups:
                self._followups += 1
                delay = lognormal_seconds(
                    rng, cat.CHECKOUT_TO_ORDER_MEDIAN_SECONDS, cat.CHECKOUT_TO_ORDER_SIGMA
                )
                self._push(t + delay, _ORDER, customer_id)
            else:
                self.followups_skipped += 1
        return Event(t, ORDERS, customer_id, payload)

    def _ticket_created(self, t: float) -> Event:
        rng = self._rng
        customer_id = self.customers.pick()
        if customer_id is None:
            return self._signed_up(t)
        if len(self.open_tickets) >= self._max_open_tickets:
            oldest = next(iter(self.open_tickets.values()))
            if t - oldest.created_at < self._stale_ticket_seconds:
                self.tickets_not_opened += 1
                return self._customer_active(t)
            self._expire_oldest_ticket(t)
        self._ticket_seq += 1
        ticket = tk.Ticket(rng, f"{self._ticket_id_prefix}{self._ticket_seq}", customer_id, t)
        self.open_tickets[ticket.ticket_id] = ticket
        self._push(ticket.first_due(rng), _TICKET_STEP, ticket, ticket.version)
        payload = self._head("ticket.created", t)
        payload["ticket_id"] = ticket.ticket_id
        payload["customer_id"] = customer_id
        payload["team"] = ticket.team
        payload["channel"] = ticket.channel
        payload["priority"] = ticket.priority
        return Event(t, TICKETS, ticket.ticket_id, payload)

    def _expire_oldest_ticket(self, t: float) -> None:
        """Make room: the oldest open ticket is closed now (auto-closed as
        stale), or just forgotten if it was already resolved and only waiting
        for a possible reopen."""
        _, oldest = self.open_tickets.popitem(last=False)
        self.tickets_expired += 1
        oldest.version += 1  # its pending heap entry is now stale
        self._stale += 1
        if oldest.step != tk.REOPEN:
            oldest.step = tk.RESOLVE
            oldest.forced = True
            self._push(t, _TICKET_STEP, oldest, oldest.version)
        if self._stale > _MIN_STALE_BEFORE_COMPACTION and 2 * self._stale > len(self._pending):
            self._pending[:] = [
                entry
                for entry in self._pending
                if entry[2] != _TICKET_STEP or entry[3].version == entry[4]
            ]
            heapify(self._pending)
            self._stale = 0

    # -- follow-ups ---------------------------------------------------------------

    def _follow_up(self, t: float) -> Event | None:
        _, _, kind, item, version = heappop(self._pending)
        if kind == _ORDER:
            self._followups -= 1
            return self._order_placed(t, item)
        if item.version != version:
            self._stale -= 1
            return None
        return self._ticket_step(t, item)

    def _order_placed(self, t: float, customer_id: str) -> Event:
        self._order_seq += 1
        payload = self._head("order.placed", t)
        payload["order_id"] = f"{self._order_id_prefix}{self._order_seq}"
        payload["customer_id"] = customer_id
        payload["amount"] = round(
            lognormal_seconds(self._rng, cat.ORDER_AMOUNT_MEDIAN, cat.ORDER_AMOUNT_SIGMA), 2
        )
        payload["currency"] = cat.CURRENCY
        return Event(t, ORDERS, customer_id, payload)

    def _ticket_step(self, t: float, ticket: tk.Ticket) -> Event:
        rng = self._rng
        step = ticket.step
        if step == tk.FIRST_REPLY or step == tk.AGENT_REPLY:
            event = self._ticket_event("ticket.agent_replied", t, ticket)
            event.payload["agent_id"] = ticket.replying_agent(rng)
            if ticket.exchanges_left > 0:
                ticket.step = tk.CUSTOMER_REPLY
                due = t + ticket.gap_seconds(rng, t, 2 * ticket.exchanges_left)
            else:
                ticket.step = tk.RESOLVE
                due = max(ticket.resolve_at, t)
            self._push(due, _TICKET_STEP, ticket, ticket.version)
            return event
        if step == tk.CUSTOMER_REPLY:
            ticket.exchanges_left -= 1
            ticket.step = tk.AGENT_REPLY
            due = t + ticket.gap_seconds(rng, t, 2 * ticket.exchanges_left + 1)
            self._push(due, _TICKET_STEP, ticket, ticket.version)
            return self._ticket_event("ticket.customer_replied", t, ticket)
        if step == tk.CHASER:
            ticket.step = tk.FIRST_REPLY
            self._push(max(ticket.first_reply_at, t), _TICKET_STEP, ticket, ticket.version)
            return self._ticket_event("ticket.customer_replied", t, ticket)
        if step == tk.RESOLVE:
            return self._ticket_resolved(t, ticket)
        if step == tk.REOPEN:
            ticket.step = tk.AGENT_REPLY
            self._push(ticket.plan_after_reopen(rng, t), _TICKET_STEP, ticket, ticket.version)
            return self._ticket_event("ticket.reopened", t, ticket)
        if step == tk.SURVEY:
            self._followups -= 1
            return self._ticket_survey(t, ticket)
        raise AssertionError(f"unknown ticket step {step}")

    def _ticket_resolved(self, t: float, ticket: tk.Ticket) -> Event:
        rng = self._rng
        event = self._ticket_event("ticket.resolved", t, ticket)
        # Who resolves is whoever answered last; an unanswered ticket that is
        # auto-closed is closed by someone on its team.
        event.payload["agent_id"] = ticket.agent_id or ticket.replying_agent(rng)
        if ticket.forced:
            return event
        if not ticket.reopened and rng.random() < cat.REOPEN_PROBABILITY:
            ticket.step = tk.REOPEN
            self._push(ticket.plan_reopen(rng, t), _TICKET_STEP, ticket, ticket.version)
            return event
        del self.open_tickets[ticket.ticket_id]
        if rng.random() < cat.TICKET_SURVEY_PROBABILITY:
            if self._followups < self._max_followups:
                self._followups += 1
                ticket.bad_experience = ticket.reopened or ticket.breached_sla(t)
                ticket.step = tk.SURVEY
                delay = lognormal_seconds(rng, cat.TICKET_SURVEY_DELAY_MEDIAN_SECONDS, 1.0)
                self._push(t + delay, _TICKET_STEP, ticket, ticket.version)
            else:
                self.followups_skipped += 1
        return event

    def _ticket_survey(self, t: float, ticket: tk.Ticket) -> Event:
        survey_type = ticket.survey_type(self._rng)
        payload = self._head(survey_type, t)
        payload["customer_id"] = ticket.customer_id
        good, bad = _SCORES[survey_type]
        payload["score"] = (bad if ticket.bad_experience else good)(self._rng)
        payload["ticket_id"] = ticket.ticket_id
        payload["team"] = ticket.team
        payload["channel"] = ticket.channel
        return Event(t, SURVEYS, ticket.customer_id, payload)
