"""An independent reading of event contract v1 for the generator tests.

Written from the contract table, not from the generator's code, and parsed
with the standard library's json, not orjson, so a bug in the generator
cannot hide by being shared with its own check.
"""

from __future__ import annotations

import json
import math
import re
from datetime import datetime
from typing import Any, Callable

PRIORITIES = {"urgent", "high", "normal", "low"}
TOPIC_OF_TYPE = {
    "ticket.created": "tickets",
    "ticket.agent_replied": "tickets",
    "ticket.customer_replied": "tickets",
    "ticket.reopened": "tickets",
    "ticket.resolved": "tickets",
    "survey.nps": "surveys",
    "survey.csat": "surveys",
    "survey.ces": "surveys",
    "checkout.started": "orders",
    "order.placed": "orders",
    "customer.signed_up": "customers",
    "customer.churned": "customers",
    "customer.active": "customers",
    "feature.used": "customers",
}
SCORE_RANGE = {"survey.nps": (0, 10), "survey.csat": (1, 5), "survey.ces": (1, 7)}

_RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$"
)


def _non_empty_str(v: Any) -> bool:
    return isinstance(v, str) and v != ""


def _enum(values: set[str]) -> Callable[[Any], bool]:
    return lambda v: isinstance(v, str) and v in values


def _amount(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v >= 0


def _usd(v: Any) -> bool:
    return v == "USD"


_ID = _non_empty_str
REQUIRED: dict[str, dict[str, Callable[[Any], bool]]] = {
    "ticket.created": {
        "ticket_id": _ID,
        "customer_id": _ID,
        "team": _non_empty_str,
        "channel": _non_empty_str,
        "priority": _enum(PRIORITIES),
    },
    "ticket.agent_replied": {"ticket_id": _ID, "agent_id": _ID},
    "ticket.customer_replied": {"ticket_id": _ID},
    "ticket.reopened": {"ticket_id": _ID},
    "ticket.resolved": {"ticket_id": _ID, "agent_id": _ID},
    "survey.nps": {"customer_id": _ID},
    "survey.csat": {"customer_id": _ID},
    "survey.ces": {"customer_id": _ID},
    "checkout.started": {"customer_id": _ID},
    "order.placed": {"order_id": _ID, "customer_id": _ID, "amount": _amount, "currency": _usd},
    "customer.signed_up": {"customer_id": _ID},
    "customer.churned": {"customer_id": _ID},
    "customer.active": {"customer_id": _ID},
    "feature.used": {"customer_id": _ID, "feature": _non_empty_str},
}
OPTIONAL_SURVEY_FIELDS = ("ticket_id", "team", "channel")


def parse_ts_seconds(ts: Any) -> float:
    """Contract `ts` -> seconds since epoch; ValueError if invalid."""
    if isinstance(ts, bool):
        raise ValueError("ts is a boolean")
    if isinstance(ts, (int, float)):
        if not math.isfinite(ts):
            raise ValueError("ts is not finite")
        return float(ts)
    if not isinstance(ts, str) or not _RFC3339.match(ts):
        raise ValueError(f"ts is not RFC 3339 with a timezone: {ts!r}")
    parsed = datetime.fromisoformat(ts)
    if parsed.tzinfo is None:
        raise ValueError("ts has no timezone")
    return parsed.timestamp()


def check_event(obj: Any) -> list[str]:
    """Contract violations of one decoded JSON value ([] if valid)."""
    if not isinstance(obj, dict):
        return [f"not a JSON object but {type(obj).__name__}"]
    errors = []
    if not _non_empty_str(obj.get("event_id")):
        errors.append("event_id missing or empty")
    event_type = obj.get("type")
    if event_type not in REQUIRED:
        errors.append(f"unknown type {event_type!r}")
    if "ts" not in obj:
        errors.append("ts missing")
    else:
        try:
            parse_ts_seconds(obj["ts"])
        except ValueError as exc:
            errors.append(str(exc))
    if event_type in REQUIRED:
        for name, valid in REQUIRED[event_type].items():
            if name not in obj:
                errors.append(f"{name} missing")
            elif not valid(obj[name]):
                errors.append(f"{name} invalid: {obj[name]!r}")
        if event_type in SCORE_RANGE:
            low, high = SCORE_RANGE[event_type]
            score = obj.get("score")
            if not isinstance(score, int) or isinstance(score, bool):
                errors.append(f"score not an integer: {score!r}")
            elif not low <= score <= high:
                errors.append(f"score out of range: {score}")
            for name in OPTIONAL_SURVEY_FIELDS:
                if name in obj and not _non_empty_str(obj[name]):
                    errors.append(f"{name} invalid: {obj[name]!r}")
    return errors


def check_line(line: bytes) -> tuple[dict[str, Any] | None, list[str]]:
    """(event, []) for a valid line, (None, errors) otherwise."""
    try:
        obj = json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        return None, [f"not JSON: {exc}"]
    errors = check_event(obj)
    return (obj, []) if not errors else (None, errors)
