"""Event contract v1: decode one raw message into an `Event` or a `Rejected`.

Decoding never raises on bad input; every failure becomes a `Rejected` with a
machine-readable `reason` (see `REASONS`) and the raw bytes, so callers can
dead-letter it and move on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import orjson

from kpi.timestamps import TimestampError, parse_ts_seconds

PRIORITIES = ("urgent", "high", "normal", "low")

# Reject reasons: stable strings, used as a metric label and in dead letters.
INVALID_JSON = "invalid_json"
NOT_AN_OBJECT = "not_an_object"
MISSING_FIELD = "missing_field"
WRONG_TYPE = "wrong_type"
OUT_OF_RANGE = "out_of_range"
EMPTY_FIELD = "empty_field"
UNKNOWN_TYPE = "unknown_type"
UNSUPPORTED_CURRENCY = "unsupported_currency"
NAIVE_TIMESTAMP = "naive_timestamp"
INVALID_TIMESTAMP = "invalid_timestamp"
# Raised by the engine, not by decoding, but listed here so all reasons live in one place.
UNKNOWN_TICKET = "unknown_ticket"
TICKET_EXISTS = "ticket_exists"
LATE = "late"
TOO_LARGE = "too_large"
# The live worker's guard against clocks far ahead (kpi.engine `not_after`); replays have none.
FUTURE = "future_timestamp"

REASONS = (
    INVALID_JSON, NOT_AN_OBJECT, MISSING_FIELD, WRONG_TYPE, OUT_OF_RANGE, EMPTY_FIELD,
    UNKNOWN_TYPE, UNSUPPORTED_CURRENCY, NAIVE_TIMESTAMP, INVALID_TIMESTAMP,
    UNKNOWN_TICKET, TICKET_EXISTS, LATE, TOO_LARGE, FUTURE,
)

# Field kinds. Strings are non-empty; scores carry their range.
_STR = "str"
_AMOUNT = "amount"
_PRIORITY = "priority"

_SCORE_RANGES = {"survey.nps": (0, 10), "survey.csat": (1, 5), "survey.ces": (1, 7)}

# type -> (topic, required fields {name: kind}, optional fields {name: kind})
SCHEMAS: dict[str, tuple[str, dict[str, str], dict[str, str]]] = {
    "ticket.created": ("tickets", {"ticket_id": _STR, "customer_id": _STR, "team": _STR, "channel": _STR, "priority": _PRIORITY}, {}),
    "ticket.agent_replied": ("tickets", {"ticket_id": _STR, "agent_id": _STR}, {}),
    "ticket.customer_replied": ("tickets", {"ticket_id": _STR}, {}),
    "ticket.reopened": ("tickets", {"ticket_id": _STR}, {}),
    "ticket.resolved": ("tickets", {"ticket_id": _STR, "agent_id": _STR}, {}),
    "survey.nps": ("surveys", {"customer_id": _STR, "score": "survey.nps"}, {"ticket_id": _STR, "team": _STR, "channel": _STR}),
    "survey.csat": ("surveys", {"customer_id": _STR, "score": "survey.csat"}, {"ticket_id": _STR, "team": _STR, "channel": _STR}),
    "survey.ces": ("surveys", {"customer_id": _STR, "score": "survey.ces"}, {"ticket_id": _STR, "team": _STR, "channel": _STR}),
    "checkout.started": ("orders", {"customer_id": _STR}, {}),
    "order.placed": ("orders", {"order_id": _STR, "customer_id": _STR, "amount": _AMOUNT, "currency": _STR}, {}),
    "customer.signed_up": ("customers", {"customer_id": _STR}, {}),
    "customer.churned": ("customers", {"customer_id": _STR}, {}),
    "customer.active": ("customers", {"customer_id": _STR}, {}),
    "feature.used": ("customers", {"customer_id": _STR, "feature": _STR}, {}),
}

TOPICS = ("tickets", "surveys", "orders", "customers")
# The field whose value is the Kafka message key, per topic.
TOPIC_KEYS = {"tickets": "ticket_id", "surveys": "customer_id", "orders": "customer_id", "customers": "customer_id"}


class Event:
    """A validated event. A plain class, not a dataclass: under mypyc a dataclass keeps the
    `__init__` that `dataclasses` generates at import time, which runs as interpreted
    bytecode, and this is built once per event (about 7% of a replay)."""

    __slots__ = ("event_id", "type", "ts", "body", "amount_micros")

    def __init__(self, event_id: str, type: str, ts: float, body: dict[str, Any], amount_micros: int = 0) -> None:  # noqa: A002
        self.event_id = event_id
        self.type = type
        self.ts = ts  # seconds since the Unix epoch
        self.body = body
        # order.placed only: the amount in the reporting currency, in micro-units, so sums
        # are exact and do not depend on arrival order.
        self.amount_micros = amount_micros

    def __repr__(self) -> str:
        return f"Event({self.event_id!r}, {self.type!r}, {self.ts!r}, {self.body!r}, {self.amount_micros!r})"


@dataclass(slots=True)
class Rejected:
    reason: str
    detail: str
    raw: bytes


class _Invalid(Exception):
    def __init__(self, reason: str, detail: str) -> None:
        self.reason = reason
        self.detail = detail


def _check_field(obj: dict[str, Any], name: str, kind: str) -> None:
    value = obj[name]
    if kind == _STR or kind == _PRIORITY:
        if type(value) is not str:
            raise _Invalid(WRONG_TYPE, f"{name} must be a string, got {_json_type(value)}")
        if not value:
            raise _Invalid(EMPTY_FIELD, f"{name} must not be empty")
        if kind == _PRIORITY and value not in PRIORITIES:
            raise _Invalid(OUT_OF_RANGE, f"priority must be one of {', '.join(PRIORITIES)}, got {value!r}")
    elif kind == _AMOUNT:
        if type(value) not in (int, float):
            raise _Invalid(WRONG_TYPE, f"amount must be a number, got {_json_type(value)}")
        if not math.isfinite(value) or value < 0:
            raise _Invalid(OUT_OF_RANGE, f"amount must be a finite number >= 0, got {value!r}")
    else:  # a score: a JSON integer in range
        if type(value) is not int:
            raise _Invalid(WRONG_TYPE, f"score must be a JSON integer, got {_json_type(value)} {value!r}")
        low, high = _SCORE_RANGES[kind]
        if not low <= value <= high:
            raise _Invalid(OUT_OF_RANGE, f"{kind} score must be {low}..{high}, got {value}")


def _json_type(value: object) -> str:
    return {str: "string", int: "integer", float: "number", bool: "boolean", list: "array", dict: "object"}.get(
        type(value), "null" if value is None else type(value).__name__
    )


class Decoder:
    """Validates raw messages against the contract.

    `fx_rates` maps a currency to the factor converting one unit of it into the
    reporting currency; the reporting currency itself is implicitly 1.0.
    """

    __slots__ = ("reporting_currency", "_rates")

    def __init__(self, reporting_currency: str = "USD", fx_rates: dict[str, float] | None = None) -> None:
        self.reporting_currency = reporting_currency
        self._rates = {reporting_currency: 1.0, **(fx_rates or {})}

    def decode(self, raw: bytes) -> Event | Rejected:
        try:
            obj = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            return Rejected(INVALID_JSON, f"not valid JSON: {exc}", raw)
        return self.decode_parsed(raw, obj)

    def decode_parsed(self, raw: bytes, obj: Any) -> Event | Rejected:
        """`decode` for a caller that has already parsed `raw` (to route it, say)."""
        if type(obj) is not dict:
            return Rejected(NOT_AN_OBJECT, f"event must be a JSON object, got {_json_type(obj)}", raw)
        try:
            return self._validate(obj)
        except _Invalid as exc:
            return Rejected(exc.reason, exc.detail, raw)

    def _validate(self, obj: dict[str, Any]) -> Event:
        # Fast path: one pass of cheap type checks for well-formed events. Anything
        # odd falls through to `_explain`, which finds the precise reason.
        etype = obj.get("type")
        spec = _FAST.get(etype) if type(etype) is str else None
        event_id = obj.get("event_id")
        if spec is None or type(event_id) is not str or not event_id:
            raise self._explain(obj)
        str_fields, score_field, low, high, optional = spec
        for name in str_fields:
            value = obj.get(name)
            if type(value) is not str or not value:
                raise self._explain(obj)
        if score_field is not None:
            score = obj.get("score")
            if type(score) is not int or not low <= score <= high:
                raise self._explain(obj)
        for name in optional:
            value = obj.get(name)
            if value is not None and (type(value) is not str or not value):
                raise self._explain(obj)
        if etype == "ticket.created" and obj["priority"] not in _PRIORITY_SET:
            raise self._explain(obj)
        try:
            ts = parse_ts_seconds(obj.get("ts", _MISSING))
        except TimestampError:
            raise self._explain(obj) from None
        event = Event(event_id, etype, ts, obj)  # type: ignore[arg-type]
        if etype == "order.placed":
            amount = obj.get("amount")
            if (type(amount) is not int and type(amount) is not float) or not 0 <= amount < math.inf:  # type: ignore[operator]
                raise self._explain(obj)
            rate = self._rates.get(obj["currency"])
            if rate is None:
                raise _Invalid(
                    UNSUPPORTED_CURRENCY,
                    f"currency {obj['currency']!r} is neither the reporting currency "
                    f"{self.reporting_currency!r} nor has a configured conversion rate",
                )
            micros = amount * rate * 1_000_000  # type: ignore[operator]
            if not math.isfinite(micros):  # e.g. 1e308: finite as given, infinite once converted
                raise _Invalid(OUT_OF_RANGE, f"amount {amount!r} {obj['currency']} is too large")
            event.amount_micros = round(micros)
        return event

    @staticmethod
    def _explain(obj: dict[str, Any]) -> _Invalid:
        """The precise reason an object failed the fast path, in contract order."""
        try:
            for name in ("event_id", "type", "ts"):
                if name not in obj:
                    raise _Invalid(MISSING_FIELD, f"missing required field {name!r}")
            _check_field(obj, "event_id", _STR)
            etype = obj["type"]
            schema = SCHEMAS.get(etype) if type(etype) is str else None
            if schema is None:
                raise _Invalid(UNKNOWN_TYPE, f"unknown event type {etype!r}")
            try:
                parse_ts_seconds(obj["ts"])
            except TimestampError as ts_error:  # own name: mypyc types each `as` name once
                raise _Invalid(ts_error.reason, ts_error.detail) from None
            _, required, optional = schema
            for name, kind in required.items():
                if name not in obj:
                    raise _Invalid(MISSING_FIELD, f"{etype} requires field {name!r}")
                _check_field(obj, name, kind)
            for name, kind in optional.items():
                if name in obj and obj[name] is not None:
                    _check_field(obj, name, kind)
        except _Invalid as invalid:
            return invalid
        raise AssertionError(f"fast path rejected a valid event: {obj!r}")  # pragma: no cover


_MISSING = object()
_PRIORITY_SET = frozenset(PRIORITIES)


def _fast_spec(etype: str) -> tuple[tuple[str, ...], str | None, int, int, tuple[str, ...]]:
    _, required, optional = SCHEMAS[etype]
    strs = tuple(n for n, k in required.items() if k in (_STR, _PRIORITY))
    score = "score" if "score" in required else None
    low, high = _SCORE_RANGES.get(etype, (0, 0))
    return strs, score, low, high, tuple(optional)


_FAST = {etype: _fast_spec(etype) for etype in SCHEMAS}
