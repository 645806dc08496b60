"""Prometheus durations with one unit (30s, 5m, 1h, 1d), as the spec and the rules write them."""

from __future__ import annotations

import re
from dataclasses import dataclass

_UNITS_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}
_PATTERN = re.compile(r"^(0|[1-9][0-9]*)(ms|s|m|h|d|w)$")


@dataclass(frozen=True, order=True)
class Duration:
    milliseconds: int

    @classmethod
    def parse(cls, text: object) -> Duration:
        match = _PATTERN.match(text) if isinstance(text, str) else None
        if not match:
            raise ValueError(f"bad duration {text!r}: use a whole number and one unit (ms, s, m, h, d, w), e.g. 30s, 5m, 1h, 1d")
        return cls(int(match.group(1)) * _UNITS_MS[match.group(2)])

    @property
    def seconds(self) -> float:
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
