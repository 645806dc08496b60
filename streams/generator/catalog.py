"""The simulated business: teams, channels, priorities, features and the
distributions the simulation draws from.

Everything tunable about *what the data looks like* lives here, so the
simulation code only says *how* it is drawn. Weights need not sum to 1.
"""

from __future__ import annotations

from dataclasses import dataclass

# Resolution SLA targets per priority. The simulation's resolution times are
# drawn so that a realistic minority of tickets breaches these.
SLA_TARGET_SECONDS: dict[str, float] = {
    "urgent": 4 * 3600.0,
    "high": 8 * 3600.0,
    "normal": 24 * 3600.0,
    "low": 72 * 3600.0,
}

PRIORITY_WEIGHTS: dict[str, float] = {"urgent": 0.04, "high": 0.14, "normal": 0.62, "low": 0.20}

# (weight of incoming tickets, number of agents)
TEAMS: dict[str, tuple[float, int]] = {
    "tech": (0.27, 18),
    "billing": (0.21, 12),
    "returns": (0.14, 10),
    "shipping": (0.12, 9),
    "onboarding": (0.12, 8),
    "enterprise": (0.08, 6),
    "accounts": (0.06, 4),
}

CHANNEL_WEIGHTS: dict[str, float] = {
    "email": 0.34,
    "chat": 0.26,
    "web": 0.20,
    "phone": 0.12,
    "social": 0.08,
}

# Live channels are answered and closed much faster than asynchronous ones;
# these multiply the per-priority medians below.
CHANNEL_FIRST_RESPONSE_FACTOR: dict[str, float] = {
    "email": 1.0,
    "web": 1.0,
    "social": 0.5,
    "chat": 0.08,
    "phone": 0.03,
}
CHANNEL_RESOLUTION_FACTOR: dict[str, float] = {
    "email": 1.0,
    "web": 1.0,
    "social": 0.8,
    "chat": 0.35,
    "phone": 0.3,
}

FIRST_RESPONSE_MEDIAN_SECONDS: dict[str, float] = {
    "urgent": 15 * 60.0,
    "high": 40 * 60.0,
    "normal": 2 * 3600.0,
    "low": 6 * 3600.0,
}
RESOLUTION_MEDIAN_SECONDS: dict[str, float] = {
    "urgent": 1.5 * 3600.0,
    "high": 3.5 * 3600.0,
    "normal": 9 * 3600.0,
    "low": 24 * 3600.0,
}
# Lognormal shape: sigma 1.0 puts ~16% of email/normal tickets past 24 h.
FIRST_RESPONSE_SIGMA = 1.1
RESOLUTION_SIGMA = 1.0
# A few tickets get stuck (waiting on a vendor, lost in a queue): their
# resolution time is multiplied by a Pareto draw, which gives the long tail.
STUCK_TICKET_PROBABILITY = 0.05
STUCK_PARETO_ALPHA = 1.5
MAX_RESOLUTION_SECONDS = 21 * 86400.0

# Back-and-forth after the first agent reply: P(no more exchanges), then each
# further exchange (customer reply + agent reply) continues with this probability.
NO_EXCHANGE_PROBABILITY = 0.45
MORE_EXCHANGE_PROBABILITY = 0.5
MAX_EXCHANGES = 6
# Customer chases before anyone has answered ("any update?").
CHASER_PROBABILITY = 0.07
# Another agent takes over on a reply.
HANDOFF_PROBABILITY = 0.15

REOPEN_PROBABILITY = 0.08
REOPEN_DELAY_MEDIAN_SECONDS = 18 * 3600.0
REOPEN_DELAY_SIGMA = 1.0
# After a reopen the fix is usually quicker than the first time.
REOPEN_RESOLUTION_FACTOR = 0.3

# Surveys sent after a ticket is finally resolved.
TICKET_SURVEY_PROBABILITY = 0.35
TICKET_SURVEY_DELAY_MEDIAN_SECONDS = 45 * 60.0
TICKET_SURVEY_TYPE_WEIGHTS: dict[str, float] = {
    "survey.csat": 0.7,
    "survey.ces": 0.2,
    "survey.nps": 0.1,
}


@dataclass(frozen=True)
class ScoreScale:
    """How a survey's scores are drawn: the lowest score `low`, and the relative weight of each
    score from `low` up (`weights[i]` for score low + i); after a bad experience (a breached SLA
    or a reopen) `bad_experience_weights` instead."""

    low: int
    # weights[i] is the weight of score low + i
    weights: tuple[float, ...]
    # Used for ticket surveys after a breached SLA or a reopen.
    bad_experience_weights: tuple[float, ...]


SCORE_SCALES: dict[str, ScoreScale] = {
    # Promoters 48%, detractors 20%: NPS about +28, a typical B2B SaaS value.
    "survey.nps": ScoreScale(
        0,
        (0.02, 0.01, 0.015, 0.02, 0.025, 0.05, 0.06, 0.14, 0.18, 0.2, 0.28),
        (0.07, 0.04, 0.05, 0.06, 0.07, 0.1, 0.12, 0.16, 0.14, 0.1, 0.09),
    ),
    # 77% satisfied (4 or 5).
    "survey.csat": ScoreScale(
        1, (0.05, 0.06, 0.12, 0.32, 0.45), (0.2, 0.18, 0.22, 0.25, 0.15)
    ),
    # 7-point "the company made it easy" agreement: higher is easier.
    "survey.ces": ScoreScale(
        1,
        (0.03, 0.05, 0.08, 0.14, 0.25, 0.27, 0.18),
        (0.12, 0.14, 0.16, 0.18, 0.18, 0.13, 0.09),
    ),
}

# Stand-alone relationship surveys, not tied to a ticket.
RELATIONSHIP_SURVEY_TYPE_WEIGHTS: dict[str, float] = {
    "survey.nps": 0.75,
    "survey.csat": 0.15,
    "survey.ces": 0.10,
}

# Share of customers who ever use each feature (sampled once per customer).
FEATURE_ADOPTION: dict[str, float] = {
    "reports": 0.62,
    "automations": 0.38,
    "integrations": 0.30,
    "mobile_app": 0.22,
    "ai_assist": 0.12,
}

CHECKOUT_CONVERSION_PROBABILITY = 0.28
CHECKOUT_TO_ORDER_MEDIAN_SECONDS = 3 * 60.0
CHECKOUT_TO_ORDER_SIGMA = 0.9
# Lognormal order value: median about 60 USD, mean about 90 USD.
ORDER_AMOUNT_MEDIAN = 60.0
ORDER_AMOUNT_SIGMA = 0.9
CURRENCY = "USD"

# Mix of events that start something new (as opposed to the follow-ups a
# ticket or checkout schedules). Ticket and checkout follow-ups add to
# their share in the output: a ticket yields about five events.
SPONTANEOUS_WEIGHTS: dict[str, float] = {
    "ticket.created": 0.03,
    "survey": 0.05,
    "checkout.started": 0.17,
    "customer.active": 0.38,
    "feature.used": 0.28,
    "customer.signed_up": 0.045,
    "customer.churned": 0.008,
}
# Until this many customers exist, half the spontaneous events are signups,
# so the stream starts with a customer base to draw from.
WARMUP_CUSTOMERS = 50
# A signup is sometimes a churned customer coming back.
RESIGNUP_PROBABILITY = 0.1
