"""Event-time parsing: RFC 3339 strings with a zone, or epoch seconds."""

from __future__ import annotations

import math
from datetime import datetime, timezone

# Reasons are part of the dead-letter contract (machine-readable).
NAIVE = "naive_timestamp"
INVALID = "invalid_timestamp"


class TimestampError(ValueError):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def parse_ts_seconds(value: object) -> float:
    """Return seconds since the Unix epoch, or raise TimestampError.

    Accepts a JSON number (int or float, not bool) or an RFC 3339 date-time.
    `datetime.fromisoformat` alone is too lenient (it takes bare dates and the
    ISO basic format), so the RFC 3339 shape is checked first. This runs once per
    event, hence the terse fast path.
    """
    if type(value) is str:
        s = value
        if len(s) < 19 or s[4] != "-" or s[13] != ":" or s[16] != ":":
            raise TimestampError(INVALID, f"ts {value!r} is not an RFC 3339 date-time")
        if s[10] != "T" or s[-1] == "z":
            s = _normalise(s)
        try:
            dt = _fromisoformat(s)
        except ValueError:
            raise TimestampError(INVALID, f"ts {value!r} is not an RFC 3339 date-time") from None
        if dt.tzinfo is None:
            raise TimestampError(NAIVE, f"ts {value!r} has no timezone (add Z or an offset)")
        return dt.timestamp()
    if type(value) is int or type(value) is float:
        if not math.isfinite(value):
            raise TimestampError(INVALID, "ts is not a finite number")
        return float(value)
    raise TimestampError(INVALID, f"ts must be an RFC 3339 string or epoch seconds, got {type(value).__name__}")


_fromisoformat = datetime.fromisoformat


def _normalise(s: str) -> str:
    if s[10] not in "t ":  # RFC 3339 allows "t" and, per its note, a space
        raise TimestampError(INVALID, f"ts {s!r} is not an RFC 3339 date-time")
    s = s[:10] + "T" + s[11:]
    return s[:-1] + "Z" if s[-1] == "z" else s


def format_ts(seconds: float) -> str:
    """RFC 3339 UTC with a Z, seconds precision unless fractional."""
    dt = datetime.fromtimestamp(seconds, timezone.utc).replace(tzinfo=None)
    text = dt.isoformat(timespec="microseconds" if dt.microsecond else "seconds")
    return text + "Z"
