"""Event-time window arithmetic and the watermark.

Tumbling windows are aligned to the Unix epoch in UTC: window k is
[k*size, (k+1)*size). Sizes must divide one day so that window ends line up with
the day boundaries the stickiness KPI needs.
"""

from __future__ import annotations

import math

from kpi.durations import DAY_SECONDS, DurationSyntax
from kpi.errors import ConfigError

# How settings, `kpi-monitor replay` flags and SLA targets write durations: whole units,
# blanks allowed, a bare number is seconds.
SETTINGS_DURATION = DurationSyntax(units=("s", "m", "h", "d"), bare_seconds=True, spaces=True)


def parse_duration_seconds(text: str | int | float) -> int:
    """'90s', '5m', '1h', '1d' or a plain number of seconds -> whole seconds.

    Raises ConfigError for anything else (negative, fractional, other units, bool).
    """
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        if text < 0 or text != int(text):
            raise ConfigError(f"duration must be a whole, non-negative number of seconds, got {text!r}")
        return int(text)
    seconds = SETTINGS_DURATION.parse(str(text))
    if seconds is None:
        raise ConfigError(f"cannot read duration {text!r}: use e.g. 30s, 5m, 1h or 1d")
    return int(seconds)


def check_window_seconds(size_seconds: int) -> int:
    """`size_seconds` if it is a valid window size (positive, divides one day), else ConfigError."""
    if size_seconds <= 0:
        raise ConfigError(f"window size must be positive, got {size_seconds} s")
    if DAY_SECONDS % size_seconds:
        raise ConfigError(
            f"window size {size_seconds} s does not divide one day; use one that does "
            "(e.g. 1m, 5m, 15m, 1h, 6h, 1d) so window ends align with days"
        )
    return size_seconds


def window_index(ts_seconds: float, size_seconds: int) -> int:
    """The index k of the window [k*size, (k+1)*size) holding `ts_seconds` (floor, also before 1970)."""
    return math.floor(ts_seconds / size_seconds)


def window_start_seconds(index: int, size_seconds: int) -> int:
    """The start of window `index`, in seconds since the Unix epoch."""
    return index * size_seconds


class Watermark:
    """The highest event time seen; an event older than it by more than the grace is late.

    The rule does not depend on the window size, so a replay with any --window and
    a worker with any trailing windows reject exactly the same events. `value` is -inf
    until the first event; raises ConfigError for a negative grace.
    """

    __slots__ = ("grace_seconds", "value")

    def __init__(self, grace_seconds: float) -> None:
        if grace_seconds < 0:
            raise ConfigError(f"grace must be >= 0 s, got {grace_seconds}")
        self.grace_seconds = grace_seconds
        self.value = -math.inf

    def is_late(self, ts_seconds: float) -> bool:
        """True when an event at `ts_seconds` is more than the grace behind the watermark."""
        return ts_seconds < self.value - self.grace_seconds

    def observe(self, ts_seconds: float) -> bool:
        """Move the watermark up to `ts_seconds`; True when it moved."""
        if ts_seconds > self.value:
            self.value = ts_seconds
            return True
        return False

    def closed_before(self) -> float:
        """Every window ending at or before this instant is complete."""
        return self.value - self.grace_seconds
