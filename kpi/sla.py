"""SLA policy: the resolution-time target of each ticket priority."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from kpi.contract import PRIORITIES
from kpi.durations import HOUR_SECONDS
from kpi.errors import ConfigError

DEFAULT_TARGETS_SECONDS = {
    "urgent": 4 * HOUR_SECONDS,
    "high": 8 * HOUR_SECONDS,
    "normal": 24 * HOUR_SECONDS,
    "low": 72 * HOUR_SECONDS,
}


@dataclass(frozen=True)
class SlaPolicy:
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
        return self.targets_seconds[priority]

    def is_breach(self, priority: str, duration_seconds: float) -> bool:
        """Resolution time strictly above the target breaches it."""
        return duration_seconds > self.targets_seconds[priority]


@dataclass
class LiveSla:
    """Open tickets of one (team, priority) at an instant, by SLA status."""

    open: int = 0
    breached: int = 0
    at_risk: dict[str, int] = field(default_factory=dict)  # horizon name -> tickets breaching within it


def live_sla_state(
    open_tickets: Iterable[tuple[str, str, float]],
    now_seconds: float,
    policy: SlaPolicy,
    horizons_seconds: dict[str, float],
) -> dict[tuple[str, str], LiveSla]:
    """Classify open tickets at `now_seconds` (wall clock), so gauges move without events."""
    out: dict[tuple[str, str], LiveSla] = {}
    targets = policy.targets_seconds
    for team, priority, created_ts in open_tickets:
        state = out.get((team, priority))
        if state is None:
            state = out[(team, priority)] = LiveSla(at_risk={h: 0 for h in horizons_seconds})
        state.open += 1
        remaining = created_ts + targets[priority] - now_seconds
        if remaining < 0:
            state.breached += 1
            continue
        for name, horizon in horizons_seconds.items():
            if remaining <= horizon:
                state.at_risk[name] += 1
    return out
