"""One support ticket's lifecycle as a small state machine.

A ticket holds only its *next* step and when it is due, never a list of
future events, so an open ticket costs a fixed, small amount of memory.
Planned times are drawn when the ticket is created (first response,
resolution) and the replies in between are spread over the remaining time,
so whatever happens in between, resolution lands when it was planned.
"""

from __future__ import annotations

import random

from streams.generator import catalog as cat
from streams.generator.sampling import WeightedChoice, lognormal_seconds

# Next step of a ticket.
CHASER = 0  # customer asks for an update before anyone answered
FIRST_REPLY = 1
CUSTOMER_REPLY = 2
AGENT_REPLY = 3
RESOLVE = 4
REOPEN = 5
SURVEY = 6

_PRIORITY = WeightedChoice.from_mapping(cat.PRIORITY_WEIGHTS)
_CHANNEL = WeightedChoice.from_mapping(cat.CHANNEL_WEIGHTS)
_TEAM = WeightedChoice.from_mapping({team: w for team, (w, _) in cat.TEAMS.items()})
_AGENTS: dict[str, tuple[str, ...]] = {
    team: tuple(f"ag-{team}-{i:02d}" for i in range(1, size + 1))
    for team, (_, size) in cat.TEAMS.items()
}
_TICKET_SURVEY_TYPE = WeightedChoice.from_mapping(cat.TICKET_SURVEY_TYPE_WEIGHTS)


class Ticket:
    """One open ticket of the simulation: its ids and labels (team, channel, priority, the agent
    who last replied), its planned times (seconds since the epoch: created, first reply,
    resolution), and the next step of its lifecycle (`step`, one of the module's step constants)
    with what decides the steps after (replies left, reopened, a bad experience). `version` tells
    the simulation's scheduled steps of an older plan from the current one."""

    __slots__ = (
        "ticket_id",
        "customer_id",
        "team",
        "channel",
        "priority",
        "agent_id",
        "created_at",
        "first_reply_at",
        "resolve_at",
        "exchanges_left",
        "reopened",
        "forced",
        "bad_experience",
        "step",
        "version",
    )

    def __init__(
        self, rng: random.Random, ticket_id: str, customer_id: str, now_seconds: float
    ) -> None:
        self.ticket_id = ticket_id
        self.customer_id = customer_id
        self.team = _TEAM(rng)
        self.channel = _CHANNEL(rng)
        self.priority = _PRIORITY(rng)
        self.agent_id: str | None = None
        self.created_at = now_seconds
        first_response_seconds = lognormal_seconds(
            rng,
            cat.FIRST_RESPONSE_MEDIAN_SECONDS[self.priority]
            * cat.CHANNEL_FIRST_RESPONSE_FACTOR[self.channel],
            cat.FIRST_RESPONSE_SIGMA,
        )
        self.first_reply_at = now_seconds + first_response_seconds
        resolution_seconds = min(
            _resolution_seconds(rng, self.priority, self.channel), cat.MAX_RESOLUTION_SECONDS
        )
        # A ticket is not resolved before anyone answered it: push resolution a
        # little past the first reply instead.
        self.resolve_at = max(
            now_seconds + resolution_seconds,
            self.first_reply_at + lognormal_seconds(rng, 600.0, 1.0),
        )
        self.exchanges_left = _exchange_count(rng)
        self.reopened = False
        # Closed by the generator to make room, not by the simulated desk.
        self.forced = False
        # Breached its SLA or was reopened: its survey scores lower.
        self.bad_experience = False
        self.version = 0
        self.step = CHASER if rng.random() < cat.CHASER_PROBABILITY else FIRST_REPLY

    def first_due(self, rng: random.Random) -> float:
        """When the ticket's first step is due: a customer's chaser at a random time before the
        planned first reply, or the first reply itself."""
        if self.step == CHASER:
            return self.created_at + (self.first_reply_at - self.created_at) * rng.random()
        return self.first_reply_at

    def replying_agent(self, rng: random.Random) -> str:
        """The agent who replies now: the ticket's agent, or (first reply, or a handoff with
        `catalog.HANDOFF_PROBABILITY`) a random agent of its team, who then keeps it."""
        if self.agent_id is None or rng.random() < cat.HANDOFF_PROBABILITY:
            self.agent_id = rng.choice(_AGENTS[self.team])
        return self.agent_id

    def gap_seconds(self, rng: random.Random, now_seconds: float, events_before_resolve: int) -> float:
        """Time to the next reply, so that `events_before_resolve` replies fit,
        on average evenly, before the planned resolution."""
        remaining = self.resolve_at - now_seconds
        if remaining <= 0:
            return 0.0
        return remaining * rng.random() * 2.0 / (events_before_resolve + 1)

    def breached_sla(self, resolved_at_seconds: float) -> bool:
        """Whether resolving at `resolved_at_seconds` takes strictly longer than the priority's
        SLA target (`catalog.SLA_TARGET_SECONDS`), as the KPI engine judges a breach (kpi.sla)."""
        return resolved_at_seconds - self.created_at > cat.SLA_TARGET_SECONDS[self.priority]

    def plan_reopen(self, rng: random.Random, now_seconds: float) -> float:
        """Mark the ticket as reopened later; returns when."""
        self.reopened = True
        self.exchanges_left = 0
        return now_seconds + lognormal_seconds(
            rng, cat.REOPEN_DELAY_MEDIAN_SECONDS, cat.REOPEN_DELAY_SIGMA
        )

    def plan_after_reopen(self, rng: random.Random, now_seconds: float) -> float:
        """Re-plan resolution after a reopen; returns when the agent answers."""
        reply_at = now_seconds + lognormal_seconds(
            rng,
            cat.FIRST_RESPONSE_MEDIAN_SECONDS[self.priority]
            * cat.CHANNEL_FIRST_RESPONSE_FACTOR[self.channel]
            * 0.5,
            cat.FIRST_RESPONSE_SIGMA,
        )
        self.resolve_at = reply_at + cat.REOPEN_RESOLUTION_FACTOR * _resolution_seconds(
            rng, self.priority, self.channel
        )
        return reply_at

    def survey_type(self, rng: random.Random) -> str:
        """The survey sent after the resolution: csat, ces or nps, drawn with
        `catalog.TICKET_SURVEY_TYPE_WEIGHTS`."""
        return _TICKET_SURVEY_TYPE(rng)


def _resolution_seconds(rng: random.Random, priority: str, channel: str) -> float:
    seconds = lognormal_seconds(
        rng,
        cat.RESOLUTION_MEDIAN_SECONDS[priority] * cat.CHANNEL_RESOLUTION_FACTOR[channel],
        cat.RESOLUTION_SIGMA,
    )
    if rng.random() < cat.STUCK_TICKET_PROBABILITY:
        seconds *= rng.paretovariate(cat.STUCK_PARETO_ALPHA)
    return seconds


def _exchange_count(rng: random.Random) -> int:
    if rng.random() < cat.NO_EXCHANGE_PROBABILITY:
        return 0
    count = 1
    while count < cat.MAX_EXCHANGES and rng.random() < cat.MORE_EXCHANGE_PROBABILITY:
        count += 1
    return count
