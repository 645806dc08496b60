"""Records that break the event contract, each in one deliberate way.

Each starts from a plausible event (with ids no real event uses, so a
consumer that wrongly accepts one cannot corrupt a real ticket or
customer) and breaks exactly one rule, so a consumer's error counters can be
checked per kind.
"""

from __future__ import annotations

import random
from typing import Any, Callable

import orjson

from kpi.contract import SCHEMAS
from streams.generator import catalog as cat
from streams.generator.routing import LOGICAL_TOPICS, ROUTES
from streams.generator.sampling import WeightedChoice
from streams.generator.timefmt import format_rfc3339_ms

Payload = dict[str, Any]

MALFORMED_KINDS = (
    "not_json",
    "not_object",
    "missing_field",
    "wrong_type",
    "out_of_range",
    "unknown_type",
    "naive_ts",
    "negative_amount",
    "empty_id",
)

# Fields every event of a type must have, besides event_id, type and ts (the event contract's).
REQUIRED_FIELDS: dict[str, tuple[str, ...]] = {etype: tuple(required) for etype, (_, required, _) in SCHEMAS.items()}

_SURVEY_TYPES = ("survey.nps", "survey.csat", "survey.ces")
_UNKNOWN_TYPES = ("ticket.escalated", "survey.smiley", "order.refunded", "customer.deleted", "")
_OUT_OF_RANGE_SCORES = {"survey.nps": (11, -1, 100), "survey.csat": (0, 6), "survey.ces": (0, 8)}
_TEAM = WeightedChoice.from_mapping({team: w for team, (w, _) in cat.TEAMS.items()})
_CHANNEL = WeightedChoice.from_mapping(cat.CHANNEL_WEIGHTS)
_PRIORITY = WeightedChoice.from_mapping(cat.PRIORITY_WEIGHTS)
_ALL_TYPES = tuple(ROUTES)


class MalformedFactory:
    """Makes (logical topic, key, value, kind) for one malformed record."""

    def __init__(
        self, rng: random.Random, format_ts: Callable[[float], Any], id_prefix: str
    ) -> None:
        self._rng = rng
        self._format_ts = format_ts
        self._id_prefix = id_prefix
        self._seq = 0
        self._makers: dict[str, Callable[[float], bytes]] = {
            "not_json": self._not_json,
            "not_object": self._not_object,
            "missing_field": self._missing_field,
            "wrong_type": self._wrong_type,
            "out_of_range": self._out_of_range,
            "unknown_type": self._unknown_type,
            "naive_ts": self._naive_ts,
            "negative_amount": self._negative_amount,
            "empty_id": self._empty_id,
        }

    def make(self, t: float) -> tuple[str, bytes, bytes, str]:
        """One malformed record at simulated time `t` (seconds since the epoch): (logical topic,
        key, value bytes, kind), the kind one of MALFORMED_KINDS drawn uniformly, the topic any
        of the four (a broken producer ignores routing)."""
        rng = self._rng
        kind = MALFORMED_KINDS[rng.randrange(len(MALFORMED_KINDS))]
        value = self._makers[kind](t)
        # A broken producer does not respect routing, so any topic will do.
        topic = LOGICAL_TOPICS[rng.randrange(len(LOGICAL_TOPICS))]
        return topic, f"{self._id_prefix}bad".encode(), value, kind

    # -- a plausible event to break ------------------------------------------------

    def _base(self, event_type: str, t: float) -> Payload:
        rng = self._rng
        self._seq += 1
        p = self._id_prefix
        n = self._seq
        payload: Payload = {"event_id": f"{p}ev-{n}", "type": event_type, "ts": self._format_ts(t)}
        for name in REQUIRED_FIELDS[event_type]:
            if name == "ticket_id":
                payload[name] = f"{p}tk-{n}"
            elif name == "customer_id":
                payload[name] = f"{p}cu-{n}"
            elif name == "order_id":
                payload[name] = f"{p}or-{n}"
            elif name == "agent_id":
                payload[name] = f"{p}ag-{n}"
            elif name == "team":
                payload[name] = _TEAM(rng)
            elif name == "channel":
                payload[name] = _CHANNEL(rng)
            elif name == "priority":
                payload[name] = _PRIORITY(rng)
            elif name == "score":
                scale = cat.SCORE_SCALES[event_type]
                payload[name] = scale.low + rng.randrange(len(scale.weights))
            elif name == "amount":
                payload[name] = round(rng.uniform(5, 200), 2)
            elif name == "currency":
                payload[name] = cat.CURRENCY
            elif name == "feature":
                payload[name] = rng.choice(tuple(cat.FEATURE_ADOPTION))
        return payload

    def _any_base(self, t: float) -> Payload:
        return self._base(_ALL_TYPES[self._rng.randrange(len(_ALL_TYPES))], t)

    # -- the kinds ----------------------------------------------------------------

    def _not_json(self, t: float) -> bytes:
        rng = self._rng
        if rng.random() < 0.3:
            return rng.choice((b"hello world", b"ticket.created,tk-1,normal", b"{'type': 'x'}", b"NaN"))
        # A proper prefix of an object's text never parses: the brace is unclosed.
        text = orjson.dumps(self._any_base(t))
        return text[: rng.randrange(1, len(text))]

    def _not_object(self, t: float) -> bytes:
        choice = self._rng.randrange(4)
        if choice == 0:
            return orjson.dumps([self._any_base(t)])
        if choice == 1:
            return orjson.dumps("customer.active")
        if choice == 2:
            return b"42"
        return b"null"

    def _missing_field(self, t: float) -> bytes:
        payload = self._any_base(t)
        names = [k for k in payload]
        del payload[names[self._rng.randrange(len(names))]]
        return orjson.dumps(payload)

    def _wrong_type(self, t: float) -> bytes:
        rng = self._rng
        choice = rng.randrange(5)
        if choice <= 1:
            payload = self._base(rng.choice(_SURVEY_TYPES), t)
            payload["score"] = rng.choice((str(payload["score"]), payload["score"] + 0.5, True, None))
        elif choice == 2:
            payload = self._base("order.placed", t)
            payload["amount"] = rng.choice((str(payload["amount"]), None, [payload["amount"]]))
        elif choice == 3:
            payload = self._any_base(t)
            field = "ticket_id" if "ticket_id" in payload else "customer_id"
            payload[field] = rng.choice((12345, None, {"id": payload[field]}))
        else:
            payload = self._any_base(t)
            payload["ts"] = rng.choice((True, None, [2024, 5, 1], {"seconds": 1}))
        return orjson.dumps(payload)

    def _out_of_range(self, t: float) -> bytes:
        rng = self._rng
        if rng.random() < 0.75:
            survey_type = rng.choice(_SURVEY_TYPES)
            payload = self._base(survey_type, t)
            payload["score"] = rng.choice(_OUT_OF_RANGE_SCORES[survey_type])
        else:
            payload = self._base("ticket.created", t)
            payload["priority"] = rng.choice(("critical", "P1", "URGENT", ""))
        return orjson.dumps(payload)

    def _unknown_type(self, t: float) -> bytes:
        payload = self._any_base(t)
        payload["type"] = self._rng.choice(_UNKNOWN_TYPES)
        return orjson.dumps(payload)

    def _naive_ts(self, t: float) -> bytes:
        rng = self._rng
        payload = self._any_base(t)
        naive = format_rfc3339_ms(t).rstrip("Z")
        payload["ts"] = rng.choice((naive, naive.replace("T", " "), "yesterday", ""))
        return orjson.dumps(payload)

    def _negative_amount(self, t: float) -> bytes:
        payload = self._base("order.placed", t)
        payload["amount"] = -round(self._rng.uniform(0.01, 500), 2)
        return orjson.dumps(payload)

    def _empty_id(self, t: float) -> bytes:
        payload = self._any_base(t)
        ids = [k for k in payload if k.endswith("_id")]
        payload[ids[self._rng.randrange(len(ids))]] = ""
        return orjson.dumps(payload)
