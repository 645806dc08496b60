"""Typed, validated generator settings, built once at the entry point."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from streams.generator.exceptions import ConfigError
from streams.generator.timefmt import TS_FORMATS


def _check_fraction(name: str, value: float) -> None:
    if not (0.0 <= value <= 1.0) or math.isnan(value):
        raise ConfigError(f"{name} must be between 0 and 1, got {value}")


def _check_positive(name: str, value: float) -> None:
    if not value > 0 or math.isinf(value):
        raise ConfigError(f"{name} must be a positive number, got {value}")


@dataclass(frozen=True)
class FaultConfig:
    """Faults to inject. Fractions are of all records written (duplicate,
    malformed) or of the simulated events eligible for that fault (late,
    out-of-order)."""

    duplicate_fraction: float = 0.0
    late_fraction: float = 0.0
    late_by_seconds: float = 600.0
    out_of_order_fraction: float = 0.0
    out_of_order_horizon_seconds: float = 60.0
    malformed_fraction: float = 0.0
    # Late and out-of-order events wait in a buffer; past this size new
    # ones are written on time instead, so memory stays bounded at any rate.
    max_held_events: int = 200_000

    def __post_init__(self) -> None:
        for name in (
            "duplicate_fraction",
            "late_fraction",
            "out_of_order_fraction",
            "malformed_fraction",
        ):
            _check_fraction(name, getattr(self, name))
        if self.injected_fraction >= 1.0:
            raise ConfigError(
                "duplicate_fraction + malformed_fraction must be below 1 "
                f"(got {self.injected_fraction:g}): some records must be real events"
            )
        _check_positive("late_by_seconds", self.late_by_seconds)
        _check_positive("out_of_order_horizon_seconds", self.out_of_order_horizon_seconds)
        if self.max_held_events < 0:
            raise ConfigError("max_held_events must be >= 0")

    @property
    def injected_fraction(self) -> float:
        """Share of records that are extra (duplicates, malformed), not fresh events."""
        return self.duplicate_fraction + self.malformed_fraction

    @property
    def any(self) -> bool:
        """Whether any fault is asked for (duplicates, late, out-of-order or malformed records);
        without, the fault injector passes events straight through."""
        return bool(
            self.duplicate_fraction
            or self.late_fraction
            or self.out_of_order_fraction
            or self.malformed_fraction
        )


@dataclass(frozen=True)
class GeneratorConfig:
    """What to generate. Same config (seed and start included) -> same bytes."""

    seed: int
    start_seconds: float
    # Simulated events per second. Duplicates and malformed records come on
    # top, so the same seed yields the same events with or without faults.
    rate_per_second: float = 50.0
    ts_format: str = "rfc3339"
    faults: FaultConfig = field(default_factory=FaultConfig)
    max_open_tickets: int = 100_000
    max_customers: int = 100_000
    # With the open-ticket cap reached, a ticket open this long is auto-closed
    # to make room; younger ones are left alone and no new ticket is opened.
    stale_ticket_seconds: float = 7 * 86400.0

    def __post_init__(self) -> None:
        _check_positive("rate_per_second", self.rate_per_second)
        if self.ts_format not in TS_FORMATS:
            raise ConfigError(f"ts_format must be one of {', '.join(TS_FORMATS)}")
        if self.max_open_tickets < 1 or self.max_customers < 1:
            raise ConfigError("max_open_tickets and max_customers must be >= 1")
        _check_positive("stale_ticket_seconds", self.stale_ticket_seconds)
        if not math.isfinite(self.start_seconds):
            raise ConfigError("start_seconds must be finite")


@dataclass(frozen=True)
class RunLimits:
    """When to stop and how fast to go. Exactly one of count/duration."""

    count: int | None = None
    duration_seconds: float | None = None
    # Pace records so simulated time follows the wall clock.
    realtime: bool = False

    def __post_init__(self) -> None:
        if (self.count is None) == (self.duration_seconds is None):
            raise ConfigError("give exactly one of count or duration_seconds")
        if self.count is not None and self.count < 0:
            raise ConfigError(f"count must be >= 0, got {self.count}")
        if self.duration_seconds is not None:
            _check_positive("duration_seconds", self.duration_seconds)
