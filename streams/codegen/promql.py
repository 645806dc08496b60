"""Small PromQL text helpers shared by the rule and dashboard generators."""

from __future__ import annotations

import json

# Overall (no breakdown) KPI series carry none of the breakdown labels.
OVERALL = ('team=""', 'channel=""', 'priority=""')


def eq(label: str, value: str) -> str:
    """An equality matcher `label="value"`, the value quoted and escaped as JSON (the escapes
    PromQL's double-quoted strings accept)."""
    return f"{label}={json.dumps(value)}"


def one_of(label: str, values: list[str] | tuple[str, ...]) -> str:
    """`label="a"` for one value, `label=~"a|b"` for several."""
    if len(values) == 1:
        return eq(label, values[0])
    return f"{label}=~{json.dumps('|'.join(values))}"


def sel(metric: str, *matchers: str) -> str:
    """A series selector: `metric{m1,m2}` with the `matchers` (`eq`, `one_of`, ...), or the bare
    metric name without any."""
    return f"{metric}{{{','.join(matchers)}}}" if matchers else metric


def number(value: float) -> str:
    """Shortest exact text: 14.4, 0.05, 6, 14400."""
    if float(value).is_integer():
        return str(int(value))
    return repr(float(value))


def breakdown(by: str) -> tuple[str, ...]:
    """Matchers selecting the overall series (`by="overall"`) or one breakdown's series."""
    if by == "overall":
        return OVERALL
    return tuple(f'{label}!=""' if label == by else f'{label}=""' for label in ("team", "channel", "priority"))
