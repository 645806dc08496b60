"""One duration parser for every syntax the project writes durations in."""

from __future__ import annotations

import ast
import re
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kpi.durations import DAY_SECONDS, DurationSyntax
from kpi.windows import SETTINGS_DURATION
from streams.codegen.durations import PROMETHEUS_DURATION
from streams.generator.timefmt import CLI_DURATION as GENERATOR_DURATION  # fractions and milliseconds too

# The three hand-written parsers this one replaced, as references: (regex, unit -> seconds).
REFERENCES = [
    (SETTINGS_DURATION, re.compile(r"^\s*(\d+)\s*(s|m|h|d)?\s*$"), {"s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}),
    (PROMETHEUS_DURATION, re.compile(r"^(0|[1-9][0-9]*)(ms|s|m|h|d|w)$"),
     {"ms": Fraction(1, 1000), "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}),
    (GENERATOR_DURATION, re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*(ms|s|m|h|d)?\s*$"),
     {"ms": Fraction(1, 1000), "s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}),
]


@pytest.mark.parametrize(
    ("syntax", "text", "seconds"),
    [
        (SETTINGS_DURATION, "90s", 90), (SETTINGS_DURATION, " 15 m ", 900), (SETTINGS_DURATION, "45", 45),
        (SETTINGS_DURATION, "05m", 300), (SETTINGS_DURATION, "1.5m", None), (SETTINGS_DURATION, "250ms", None),
        (SETTINGS_DURATION, "1w", None),
        (PROMETHEUS_DURATION, "250ms", Fraction(1, 4)), (PROMETHEUS_DURATION, "2w", 14 * 86400),
        (PROMETHEUS_DURATION, "0s", 0), (PROMETHEUS_DURATION, "05m", None), (PROMETHEUS_DURATION, "5 m", None),
        (PROMETHEUS_DURATION, "45", None),
        (GENERATOR_DURATION, "1.5m", 90), (GENERATOR_DURATION, ".5h", 1800), (GENERATOR_DURATION, "1.", 1),
        (GENERATOR_DURATION, "250ms", Fraction(1, 4)), (GENERATOR_DURATION, "1w", None),
        (GENERATOR_DURATION, "", None),
    ],
)
def test_durations_by_hand(syntax: DurationSyntax, text: str, seconds) -> None:
    assert syntax.parse(text) == seconds


@given(st.text(alphabet="0123456789.smhdw \t", max_size=8))
def test_each_syntax_reads_what_its_old_parser_read(text: str) -> None:
    for syntax, pattern, units in REFERENCES:
        match = pattern.match(text)
        expected = None if match is None else Fraction(match.group(1)) * units[match.group(2)]
        assert syntax.parse(text) == expected, (syntax, text)


def test_an_unknown_unit_is_refused_when_the_syntax_is_declared() -> None:
    with pytest.raises(ValueError, match="unknown duration units"):
        DurationSyntax(units=("fortnight",))


def test_day_seconds_is_defined_once() -> None:
    # kpi.durations holds it as a Final, which mypyc inlines into the compiled modules that
    # import it; a second definition (business_hours once had its own) could drift.
    root = Path(__file__).resolve().parents[2]
    defining = []
    for path in sorted([*root.glob("kpi/*.py"), *root.glob("streams/**/*.py")]):
        for node in ast.walk(ast.parse(path.read_text())):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
            if any(isinstance(t, ast.Name) and t.id == "DAY_SECONDS" for t in targets):
                defining.append(path.relative_to(root).as_posix())
    assert defining == ["kpi/durations.py"]
    assert DAY_SECONDS == 24 * 60 * 60
