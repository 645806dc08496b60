"""Duration text ("90s", "5m", "1h") to seconds: one parser, a syntax per caller.

Settings and CLI flags, the KPI spec's Prometheus durations and the generator's flags write
durations differently (a bare number, fractions, spaces, leading zeros, which units), so
each caller names its `DurationSyntax` and words its own error; the arithmetic is here once,
exact (a `Fraction` of seconds, so "250ms" and "1.5m" lose nothing): `SYNTAX.parse(text)`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Final

# Final: mypyc inlines these into the compiled modules that import them (business_hours,
# windows, stickiness use DAY_SECONDS per event), so one definition costs nothing there.
SECOND: Final = 1
MINUTE_SECONDS: Final = 60
HOUR_SECONDS: Final = 3600
DAY_SECONDS: Final = 86_400
WEEK_SECONDS: Final = 7 * DAY_SECONDS

UNIT_SECONDS: dict[str, Fraction] = {
    "ms": Fraction(1, 1000),
    "s": Fraction(SECOND),
    "m": Fraction(MINUTE_SECONDS),
    "h": Fraction(HOUR_SECONDS),
    "d": Fraction(DAY_SECONDS),
    "w": Fraction(WEEK_SECONDS),
}


@dataclass(frozen=True)
class DurationSyntax:
    """Which duration texts a caller accepts.

    `units`: the unit suffixes allowed (keys of `UNIT_SECONDS`). `bare_seconds`: a number
    without a unit means seconds ("45"). `fractions`: "1.5m" and ".5h". `spaces`: blanks
    around and between number and unit (" 15 m "). `leading_zeros`: "05m"; Prometheus
    refuses them, so its syntax sets this False.
    """

    units: tuple[str, ...]
    bare_seconds: bool = False
    fractions: bool = False
    spaces: bool = False
    leading_zeros: bool = True
    _pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        unknown = set(self.units) - set(UNIT_SECONDS)
        if unknown:
            raise ValueError(f"unknown duration units {sorted(unknown)}; known: {', '.join(UNIT_SECONDS)}")
        if self.fractions:
            number = r"\d+(?:\.\d*)?|\.\d+"
        elif self.leading_zeros:
            number = r"\d+"
        else:
            number = r"0|[1-9][0-9]*"
        blank = r"\s*" if self.spaces else ""
        # Longest first, so "ms" is not read as "m" followed by junk.
        units = "|".join(sorted(self.units, key=len, reverse=True))
        optional = "?" if self.bare_seconds else ""
        pattern = re.compile(rf"^{blank}({number}){blank}({units}){optional}{blank}$")
        object.__setattr__(self, "_pattern", pattern)

    def parse(self, text: str) -> Fraction | None:
        """Seconds, exactly, of `text` written in this syntax; None when it is not.

        Callers raise their own error for None, naming the forms their users write.
        """
        match = self._pattern.match(text)
        if match is None:
            return None
        number, unit = match.group(1), match.group(2)
        return Fraction(number) * UNIT_SECONDS[unit or "s"]
