"""SLA policy: the resolution-time target of each ticket priority."""

from __future__ import annotations

from dataclasses import dataclass, field

from kpi.contract import PRIORITIES
from kpi.errors import ConfigError

HOUR_SECONDS = 3600
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
