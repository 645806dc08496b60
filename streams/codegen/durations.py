"""Prometheus durations with one unit (30s, 5m, 1h, 1d), as the spec and the rules write them."""

from __future__ import annotations

from dataclasses import dataclass

from kpi.durations import UNIT_SECONDS, DurationSyntax

# Prometheus' own syntax (one unit here; Prometheus also allows "1h30m"): no blanks, no
# leading zeros, no fractions, a unit is required.
PROMETHEUS_DURATION = DurationSyntax(units=("ms", "s", "m", "h", "d", "w"), leading_zeros=False)
_UNITS_MS = {unit: int(seconds * 1000) for unit, seconds in UNIT_SECONDS.items()}


@dataclass(frozen=True, order=True)
class Duration:
    """A Prometheus duration, in whole milliseconds (`milliseconds` >= 0); ordered, and printed
    canonically (`str`: the largest unit that divides it, as rules are written)."""

    milliseconds: int

    @classmethod
    def parse(cls, text: object) -> Duration:
        """The duration of `text`, written as Prometheus writes one: a whole number and one unit
        (ms, s, m, h, d, w), no blanks, no leading zeros ("30s", "5m", "1d"). Raises ValueError
        for anything else, a non-string included."""
        seconds = PROMETHEUS_DURATION.parse(text) if isinstance(text, str) else None
        if seconds is None:
            raise ValueError(f"bad duration {text!r}: use a whole number and one unit (ms, s, m, h, d, w), e.g. 30s, 5m, 1h, 1d")
        return cls(int(seconds * 1000))

    @property
    def seconds(self) -> float:
        """The duration in seconds (a float: 250ms is 0.25)."""
        return self.milliseconds / 1000

    def __str__(self) -> str:
        """Canonical text, the largest unit that divides it: 60m -> 1h, 0 -> 0s."""
        if self.milliseconds == 0:
            return "0s"
        for unit in ("w", "d", "h", "m", "s", "ms"):
            size = _UNITS_MS[unit]
            if self.milliseconds % size == 0:
                return f"{self.milliseconds // size}{unit}"
        raise AssertionError("unreachable: 1 ms divides everything")

    def human(self) -> str:
        """For people: 4h, 90m, 1d (same as str, but days rather than weeks)."""
        if self.milliseconds and self.milliseconds % _UNITS_MS["d"] == 0:
            return f"{self.milliseconds // _UNITS_MS['d']}d"
        return str(self)
