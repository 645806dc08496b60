"""Event-time parsing: RFC 3339 strings with a zone, or epoch seconds."""

from __future__ import annotations

import math
import re
from datetime import datetime, timezone

from kpi.reasons import INVALID_TIMESTAMP as INVALID
from kpi.reasons import NAIVE_TIMESTAMP as NAIVE
# Event times must leave room for a window of up to one day that can still be formatted.
MIN_SECONDS = -62_135_596_800.0  # 0001-01-01T00:00:00Z
MAX_SECONDS = 253_402_214_400.0  # 9999-12-31T00:00:00Z


class TimestampError(ValueError):
    """A `ts` the contract refuses: `reason` (NAIVE or INVALID, a reject reason) and `detail`."""

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
        # Fastest path, the canonical "YYYY-MM-DDTHH:MM:SS.mmmZ" (what most producers write):
        # two dict lookups, no integer parse.
        if len(value) == 24 and value[23] == "Z" and value[19] == ".":
            base = _UTC_PREFIXES.get(value[:19])
            if base is not None:
                millis = _MILLIS.get(value[20:23])
                if millis is not None:
                    return base + millis
        # Fast path for the common UTC form "YYYY-MM-DDTHH:MM:SS[.fff]Z": the whole-second
        # prefix was validated and converted when first seen.
        if value[-1:] == "Z":
            base = _UTC_PREFIXES.get(value[:19])
            if base is not None:
                tail = value[19:-1]
                if not tail:
                    return base
                digits = tail[1:]
                if tail[0] == "." and digits.isascii() and digits.isdigit():
                    return base + _fraction(digits)
        s = value
        if (
            len(s) < 19 or s[4] != "-" or s[7] != "-" or s[10] not in "Tt " or s[13] != ":" or s[16] != ":"
            or (s[19:] != "Z" and not _is_fraction_z(s) and _RFC3339_TAIL(s, 19) is None)
        ):
            raise TimestampError(INVALID, f"ts {value!r} is not an RFC 3339 date-time")
        if s[10] != "T" or s[-1] == "z":
            s = s.upper().replace(" ", "T")  # RFC 3339 allows "t", "z" and, per its note, a space
        try:
            dt = _fromisoformat(s)
        except ValueError:
            raise TimestampError(INVALID, f"ts {value!r} is not an RFC 3339 date-time") from None
        if dt.tzinfo is None:
            raise TimestampError(NAIVE, f"ts {value!r} has no timezone (add Z or an offset)")
        if value[-1] == "Z" and value[10] == "T" and (len(value) == 20 or value[19] == "."):
            # Same arithmetic as the fast path, so a string gives the same float either way.
            base = dt.replace(microsecond=0).timestamp()
            if MIN_SECONDS <= base < MAX_SECONDS:
                if len(_UTC_PREFIXES) >= _PREFIX_CACHE_SIZE:
                    _UTC_PREFIXES.clear()
                _UTC_PREFIXES[value[:19]] = base
            seconds = base + _fraction(value[20:-1]) if len(value) > 20 else base
        else:
            seconds = dt.timestamp()
    elif type(value) is int or type(value) is float:
        if not math.isfinite(value):
            raise TimestampError(INVALID, "ts is not a finite number")
        seconds = float(value)
    else:
        raise TimestampError(INVALID, f"ts must be an RFC 3339 string or epoch seconds, got {type(value).__name__}")
    if not MIN_SECONDS <= seconds < MAX_SECONDS:
        # Windows holding it could not be written as RFC 3339 (years 0001-9999).
        raise TimestampError(INVALID, f"ts {value!r} is outside 0001-01-01T00:00:00Z .. 9999-12-31T00:00:00Z")
    return seconds


_fromisoformat = datetime.fromisoformat
_UTC_PREFIXES: dict[str, float] = {}  # "YYYY-MM-DDTHH:MM:SS" -> epoch seconds, validated
_PREFIX_CACHE_SIZE = 65_536
# What may follow the seconds in RFC 3339: fraction, then Z or a +hh:mm offset (none: naive).
# fromisoformat alone also takes ",5", "+0200" and "+02:00:30".
_RFC3339_TAIL = re.compile(r"(?:\.\d+)?(?:[Zz]|[+-]\d\d:\d\d)?", re.ASCII).fullmatch


_POW10 = tuple(10.0**n for n in range(16))
# "000".."999" -> the same float _fraction() gives (int / 10**3).
_MILLIS = {f"{i:03d}": i / _POW10[3] for i in range(1000)}


def _fraction(digits: str) -> float:
    """float("." + digits), cheaper: an integer parse and one correctly rounded division.

    Both are the double nearest to digits / 10**n while the numerator and 10**n are exact
    (up to 15 digits); longer fractions take float() itself.
    """
    n = len(digits)
    if n <= 15:
        return int(digits) / _POW10[n]
    return float("." + digits)


def _is_fraction_z(s: str) -> bool:
    """The common "...:ss.fffZ" tail, checked without the regex."""
    return len(s) > 21 and s[-1] == "Z" and s[19] == "." and s[20:-1].isdigit() and s.isascii()


def format_ts(seconds: float) -> str:
    """RFC 3339 UTC with a Z, seconds precision unless fractional."""
    dt = datetime.fromtimestamp(seconds, timezone.utc).replace(tzinfo=None)
    text = dt.isoformat(timespec="microseconds" if dt.microsecond else "seconds")
    return text + "Z"
