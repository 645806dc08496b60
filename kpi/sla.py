"""SLA policy: the resolution-time target of each ticket priority."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import NamedTuple

from kpi.contract import PRIORITIES
from kpi.durations import HOUR_SECONDS
from kpi.errors import ConfigError

DEFAULT_TARGETS_SECONDS = {
    "urgent": 4 * HOUR_SECONDS,
    "high": 8 * HOUR_SECONDS,
    "normal": 24 * HOUR_SECONDS,
    "low": 72 * HOUR_SECONDS,
}


class OpenTicket(NamedTuple):
    """An open ticket as the live SLA state sees it (`kpi.engine.Engine.open_tickets`)."""

    team: str  # after the label cap
    priority: str
    created_ts: float  # seconds since the Unix epoch


class SlaKey(NamedTuple):
    """The (team, priority) a live SLA state is kept for."""

    team: str
    priority: str


@dataclass(frozen=True)
class SlaPolicy:
    """The resolution-time target of each ticket priority, in seconds.

    `targets_seconds` overrides DEFAULT_TARGETS_SECONDS per priority. Raises ConfigError
    for an unknown priority or a target that is not a positive number.
    """

    targets_seconds: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_TARGETS_SECONDS))

    def __post_init__(self) -> None:
        unknown = set(self.targets_seconds) - set(PRIORITIES)
        if unknown:
            raise ConfigError(f"SLA targets name unknown priorities {sorted(unknown)}; valid: {', '.join(PRIORITIES)}")
        merged = {**DEFAULT_TARGETS_SECONDS, **self.targets_seconds}
        for priority, seconds in merged.items():
            if not isinstance(seconds, (int, float)) or isinstance(seconds, bool) or seconds <= 0:
                raise ConfigError(f"SLA target for {priority!r} must be a positive number of seconds, got {seconds!r}")
        object.__setattr__(self, "targets_seconds", merged)

    def target_seconds(self, priority: str) -> float:
        """The target of `priority` (KeyError for a priority not in the contract)."""
        return self.targets_seconds[priority]

    def is_breach(self, priority: str, duration_seconds: float) -> bool:
        """Resolution time strictly above the target breaches it."""
        return duration_seconds > self.targets_seconds[priority]


@dataclass
class LiveSla:
    """Open tickets of one (team, priority) at an instant: all of them, those past their
    target, and per at-risk horizon those that will be past it within the horizon."""

    open: int = 0
    breached: int = 0
    at_risk: dict[str, int] = field(default_factory=dict)  # horizon name -> tickets breaching within it


def live_sla_state(
    open_tickets: Iterable[tuple[str, str, float]],
    now_seconds: float,
    policy: SlaPolicy,
    horizons_seconds: dict[str, float],
) -> dict[SlaKey, LiveSla]:
    """Classify open tickets (OpenTicket: team, priority, created_ts) at `now_seconds`
    (wall clock), so gauges move without events.

    Per (team, priority): open tickets; breached, those past their target now; at risk,
    per horizon name, those not breached whose target falls within that many seconds.
    """
    out: dict[SlaKey, LiveSla] = {}
    targets = policy.targets_seconds
    for team, priority, created_ts in open_tickets:
        # A SlaKey equals (and hashes as) its plain tuple: look up without building one.
        state = out.get((team, priority))  # type: ignore[call-overload]
        if state is None:
            state = out[SlaKey(team, priority)] = LiveSla(at_risk={h: 0 for h in horizons_seconds})
        state.open += 1
        remaining = created_ts + targets[priority] - now_seconds
        if remaining < 0:
            state.breached += 1
            continue
        for name, horizon in horizons_seconds.items():
            if remaining <= horizon:
                state.at_risk[name] += 1
    return out
