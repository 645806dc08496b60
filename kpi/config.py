"""The engine's configuration: plain, validated, framework-free.

The worker's typed settings object (`streams.settings.Settings`) builds one of these;
the replay command builds one from its flags.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kpi.durations import DAY_SECONDS
from kpi.errors import ConfigError
from kpi.sla import SlaPolicy
from kpi.windows import check_window_seconds

GROUP_BY_DIMENSIONS = ("team", "channel", "priority")


@dataclass(frozen=True)
class SeriesSpec:
    """A bucket size and how many closed buckets to keep for trailing views."""

    bucket_seconds: int
    retain_closed: int = 0
    stickiness: bool = False


@dataclass(frozen=True)
class EngineConfig:
    """The engine's rules, validated when built (ConfigError names what to fix).

    `window_seconds`: the replay's window (divides a day). `grace_seconds`: how far behind
    the watermark an event may be and still count. `sla`: targets per priority.
    `reporting_currency` and `fx_rates` (currency -> units of the reporting currency per
    unit): what order amounts are converted into. `group_by`: the ticket labels KPIs are
    broken down by. `ticket_retention_seconds`: how long a ticket is tracked after its
    creation. `max_customers`: the cap on customers tracked for churn (oldest evicted).
    `max_label_values`, `label_allow`: the label cap and allow-lists (kpi.labels).
    """

    window_seconds: int = 3600
    grace_seconds: float = 300
    sla: SlaPolicy = field(default_factory=SlaPolicy)
    reporting_currency: str = "USD"
    fx_rates: dict[str, float] = field(default_factory=dict)
    group_by: tuple[str, ...] = GROUP_BY_DIMENSIONS
    ticket_retention_seconds: int = 30 * DAY_SECONDS
    max_customers: int = 2_000_000
    max_label_values: int = 50
    label_allow: dict[str, frozenset[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_window_seconds(self.window_seconds)
        if self.grace_seconds < 0:
            raise ConfigError(f"grace must be >= 0 seconds, got {self.grace_seconds}")
        bad = [d for d in self.group_by if d not in GROUP_BY_DIMENSIONS]
        if bad:
            raise ConfigError(f"cannot group by {bad}; valid: {', '.join(GROUP_BY_DIMENSIONS)}")
        if not self.reporting_currency:
            raise ConfigError("reporting currency must not be empty")
        for currency, rate in self.fx_rates.items():
            if not isinstance(rate, (int, float)) or rate <= 0:
                raise ConfigError(f"conversion rate for {currency!r} must be a positive number, got {rate!r}")
        if self.ticket_retention_seconds <= 0:
            raise ConfigError("ticket retention must be positive")
        if self.max_customers < 1:
            raise ConfigError("max_customers must be >= 1")
