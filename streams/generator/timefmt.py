"""Timestamp and duration text: parsing CLI input, formatting event `ts`.

Formatting is on the hot path (once per event), so the RFC 3339 formatter
caches everything up to the second and only formats milliseconds per call.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Callable

from kpi.durations import DurationSyntax
from streams.generator.exceptions import ConfigError

TS_FORMATS = ("rfc3339", "epoch")

# The generator's and demo's flags: a generous syntax over the project's one duration
# parser (kpi.durations), with fractions and milliseconds that settings do not accept.
CLI_DURATION = DurationSyntax(units=("ms", "s", "m", "h", "d"), bare_seconds=True, fractions=True, spaces=True)


def parse_cli_duration_seconds(text: str) -> float:
    """A generator or demo flag's duration -> seconds, fractions kept: '90' or '90s',
    '1.5m', '10m', '2h', '1d', '250ms' (`CLI_DURATION`).

    Raises `streams.generator.exceptions.ConfigError` for anything else. Settings and
    replay flags take whole seconds only: `kpi.windows.parse_duration_seconds`.
    """
    seconds = CLI_DURATION.parse(text)
    if seconds is None:
        raise ConfigError(f"not a duration: {text!r} (use e.g. 90, 90s, 10m, 2h, 1d)")
    return float(seconds)


def parse_rfc3339_seconds(text: str) -> float:
    """RFC 3339 / ISO 8601 timestamp with a timezone -> seconds since epoch."""
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ConfigError(f"not an RFC 3339 timestamp: {text!r}") from None
    if parsed.tzinfo is None:
        raise ConfigError(f"timestamp needs a timezone (Z or +HH:MM): {text!r}")
    return parsed.timestamp()


def format_rfc3339_ms(ts_seconds: float) -> str:
    """Uncached reference formatter: '2024-05-01T12:00:00.123Z'."""
    ms = int(ts_seconds * 1000)
    dt = datetime.fromtimestamp(ms // 1000, tz=timezone.utc)
    return f"{dt:%Y-%m-%dT%H:%M:%S}.{ms % 1000:03d}Z"


class Rfc3339MsFormatter:
    """Seconds since epoch -> RFC 3339 UTC string with milliseconds.

    Milliseconds are truncated, not rounded, so ordering of float times is
    kept in their text form.
    """

    __slots__ = ("_second", "_prefix")

    def __init__(self) -> None:
        self._second = -1
        self._prefix = ""

    def __call__(self, ts_seconds: float) -> str:
        ms = int(ts_seconds * 1000)
        second, milli = divmod(ms, 1000)
        if second != self._second:
            self._second = second
            dt = datetime.fromtimestamp(second, tz=timezone.utc)
            self._prefix = f"{dt:%Y-%m-%dT%H:%M:%S}."
        return f"{self._prefix}{milli:03d}Z"


def epoch_ms(ts_seconds: float) -> float:
    """Seconds since epoch, truncated to whole milliseconds like the text form."""
    return int(ts_seconds * 1000) / 1000


def make_ts_formatter(ts_format: str) -> Callable[[float], str | float]:
    """The formatter of events' `ts` for `ts_format`: "rfc3339" (text with milliseconds, UTC) or
    "epoch" (seconds as a float, truncated to milliseconds). Raises ConfigError for any other
    format."""
    if ts_format == "rfc3339":
        return Rfc3339MsFormatter()
    if ts_format == "epoch":
        return epoch_ms
    raise ConfigError(f"unknown ts format {ts_format!r}; choose from {', '.join(TS_FORMATS)}")
