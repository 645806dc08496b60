"""Event contract v1: decode one raw message into an `Event` or a `Rejected`.

Decoding never raises on bad input; every failure becomes a `Rejected` with a
machine-readable `reason` (see `REASONS`) and the raw bytes, so callers can
dead-letter it and move on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Optional, Union

import msgspec
import orjson

# Reject reasons are defined in kpi.reasons; the contract's callers name them from here
# (`contract.LATE`, `contract.REASONS`).
from kpi.reasons import (
    EMPTY_FIELD,
    FUTURE,
    INTERNAL_ERROR,
    INVALID_JSON,
    INVALID_TIMESTAMP,
    LATE,
    MISSING_FIELD,
    NAIVE_TIMESTAMP,
    NOT_AN_OBJECT,
    OUT_OF_RANGE,
    REASONS,
    TICKET_EXISTS,
    TOO_LARGE,
    UNKNOWN_TICKET,
    UNKNOWN_TYPE,
    UNSUPPORTED_CURRENCY,
    WRONG_TYPE,
)
from kpi.timestamps import TimestampError, parse_ts_seconds

PRIORITIES = ("urgent", "high", "normal", "low")

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

# The input topics, in the order of their first event type above (settings, the local
# stack and the generator derive their topic lists from this).
TOPICS: tuple[str, ...] = tuple(dict.fromkeys(topic for topic, _, _ in SCHEMAS.values()))
# The field whose value is the Kafka message key, per topic: a required field of every
# event type on the topic (tests/kpi/test_contract.py checks).
TOPIC_KEYS = {"tickets": "ticket_id", "surveys": "customer_id", "orders": "customer_id", "customers": "customer_id"}


# -- typed decoding ----------------------------------------------------------------------------
# One msgspec Struct per event type, derived from SCHEMAS and told apart by "type": msgspec
# decodes and validates a message in one pass in C, in less time than orjson.loads takes
# to build a dict. Anything it refuses goes to the slower path below, which finds the
# contract's reason (or accepts what msgspec is stricter about, e.g. a repeated "type").
_NonEmpty = Annotated[str, msgspec.Meta(min_length=1)]


def _field_type(kind: str) -> Any:
    if kind == _STR:
        return _NonEmpty
    if kind == _PRIORITY:
        return Literal[PRIORITIES]  # type: ignore[valid-type]
    if kind == _AMOUNT:
        return Annotated[float, msgspec.Meta(ge=0)]  # finiteness: Decoder._complete
    low, high = _SCORE_RANGES[kind]
    return Annotated[int, msgspec.Meta(ge=low, le=high)]


def _struct(etype: str) -> type:
    _, required, optional = SCHEMAS[etype]
    fields: list[Any] = [("event_id", _NonEmpty), ("ts", Union[str, float])]
    fields += [(name, _field_type(kind)) for name, kind in required.items()]
    fields += [(name, Optional[_field_type(kind)], None) for name, kind in optional.items()]
    name = "".join(part.title() for part in etype.replace(".", "_").split("_"))
    # gc=False: fields are strings and numbers only, so no cycles; untracked objects are
    # cheaper to make and the cyclic collector never walks them.
    return msgspec.defstruct(name, fields, tag_field="type", tag=etype, gc=False, module=__name__)


STRUCTS: dict[str, type] = {etype: _struct(etype) for etype in SCHEMAS}
TYPE_OF_STRUCT: dict[type, str] = {cls: etype for etype, cls in STRUCTS.items()}
_ANY_EVENT: Any = Union[tuple(STRUCTS.values())]  # type: ignore[misc]
_TYPED = msgspec.json.Decoder(_ANY_EVENT)


class Event:
    """A validated event. A plain class, not a dataclass: under mypyc a dataclass keeps the
    `__init__` that `dataclasses` generates at import time, which runs as interpreted
    bytecode, and this is built once per event (about 7% of a replay)."""

    __slots__ = ("event_id", "type", "ts", "body", "amount_micros")

    def __init__(self, event_id: str, type: str, ts: float, body: Any, amount_micros: int = 0) -> None:  # noqa: A002
        self.event_id = event_id
        self.type = type
        self.ts = ts  # seconds since the Unix epoch
        self.body = body  # the STRUCTS instance of its type: fields as attributes
        # order.placed only: the amount in the reporting currency, in micro-units, so sums
        # are exact and do not depend on arrival order.
        self.amount_micros = amount_micros

    def __repr__(self) -> str:
        return f"Event({self.event_id!r}, {self.type!r}, {self.ts!r}, {self.body!r}, {self.amount_micros!r})"


@dataclass(slots=True)
class Rejected:
    """An event that was not counted: `reason` from kpi.reasons (a metric label), `detail`
    for people, `raw` the message as received (for the dead letter; b"" when not known)."""

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
        """One raw message (JSON bytes) as an Event, or the Rejected saying why not; never raises."""
        typed = self.typed(raw)
        if typed is None:
            return self.decode_slow(raw)
        return self.complete(raw, typed)

    @staticmethod
    def typed(raw: bytes) -> Any:
        """The message as its type's Struct when it has the contract's shape and types, else None.

        What this accepts, `complete` finishes; what it refuses, `decode_slow` decides.
        """
        if not raw.isascii():
            # msgspec checks the UTF-8 of the strings it decodes, not of the fields it skips;
            # the contract wants the whole message to be UTF-8 (decode_slow says invalid_json).
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError:
                return None
        try:
            return _TYPED.decode(raw)
        except Exception:  # noqa: BLE001
            # Whatever msgspec refuses (ValidationError, DecodeError, UnicodeDecodeError, a
            # RecursionError from deep nesting: orjson below stops at 1024 levels with a
            # reason), decode_slow decides. Nothing a message contains may raise from here.
            return None

    def complete(self, raw: bytes, typed: Any) -> Event | Rejected:
        """The checks no type expresses: the timestamp, the currency, the amount in micro-units."""
        etype = TYPE_OF_STRUCT[type(typed)]
        try:
            ts = parse_ts_seconds(typed.ts)
        except TimestampError as ts_error:
            return Rejected(ts_error.reason, ts_error.detail, raw)
        event = Event(typed.event_id, etype, ts, typed)
        if etype == "order.placed":
            currency = typed.currency
            rate = self._rates.get(currency)
            if rate is None:
                return Rejected(
                    UNSUPPORTED_CURRENCY,
                    f"currency {currency!r} is neither the reporting currency "
                    f"{self.reporting_currency!r} nor has a configured conversion rate",
                    raw,
                )
            micros = typed.amount * rate * 1_000_000
            if not math.isfinite(micros):  # e.g. 1e308: finite as given, infinite once converted
                return Rejected(OUT_OF_RANGE, f"amount {typed.amount!r} {currency} is too large", raw)
            event.amount_micros = round(micros)
        return event

    def decode_slow(self, raw: bytes) -> Event | Rejected:
        """What `typed` refused: the precise reject reason, in contract order."""
        try:
            obj = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            return Rejected(INVALID_JSON, f"not valid JSON: {exc}", raw)
        if type(obj) is not dict:
            return Rejected(NOT_AN_OBJECT, f"event must be a JSON object, got {_json_type(obj)}", raw)
        invalid = self._explain(obj)
        if invalid is not None:
            return Rejected(invalid.reason, invalid.detail, raw)
        # Valid by the contract, refused by msgspec for a reason the contract does not
        # have (a repeated key, say: the parsed object keeps the last): convert the object.
        try:
            typed = msgspec.convert(obj, _ANY_EVENT)
        except msgspec.ValidationError as exc:
            return Rejected(WRONG_TYPE, f"event does not match its type: {exc}", raw)
        return self.complete(raw, typed)

    @staticmethod
    def _explain(obj: dict[str, Any]) -> _Invalid | None:
        """The precise reason an object breaks the contract, in contract order; None if it does not."""
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
        return None

