"""Bounded label values: allow-lists or first-N-seen, everything else becomes `other`.

Unbounded label values (a flood of new team names) would blow up both engine state
and Prometheus series, so every label passes through here before it is used.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kpi.errors import ConfigError
from kpi.snapshots import LabelsSnapshot

OTHER = "other"
LABEL_DIMENSIONS = ("team", "channel", "priority", "feature")


@dataclass
class LabelPolicy:
    """Which values of each label dimension are kept; `map` turns the rest into `other`.

    A dimension with an allow-list keeps exactly those values; any other keeps the first
    `max_values_per_label` values it sees. Raises ConfigError when built with a cap below 1
    or an allow-list for a dimension not in LABEL_DIMENSIONS.
    """

    max_values_per_label: int = 50
    allow: dict[str, frozenset[str]] = field(default_factory=dict)
    _seen: dict[str, set[str]] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.max_values_per_label < 1:
            raise ConfigError(f"max_values_per_label must be >= 1, got {self.max_values_per_label}")
        unknown = set(self.allow) - set(LABEL_DIMENSIONS)
        if unknown:
            raise ConfigError(f"label allow-lists name unknown labels {sorted(unknown)}; valid: {', '.join(LABEL_DIMENSIONS)}")
        self.allow = {k: frozenset(v) for k, v in self.allow.items()}
        self._seen = {dim: set() for dim in LABEL_DIMENSIONS}

    def map(self, dim: str, value: str) -> str:
        """`value`, or OTHER when dimension `dim` may not take it (admitting it if there is room)."""
        allowed = self.allow.get(dim)
        if allowed is not None:
            return value if value in allowed else OTHER
        seen = self._seen[dim]
        if value in seen:
            return value
        if len(seen) < self.max_values_per_label:
            seen.add(value)
            return value
        return OTHER

    def overflowed(self, dim: str) -> bool:
        """True once `dim` has admitted as many values as the cap allows."""
        return len(self._seen[dim]) >= self.max_values_per_label

    def snapshot(self) -> LabelsSnapshot:
        """The values admitted so far, per dimension, sorted (see kpi.snapshots)."""
        return {dim: sorted(seen) for dim, seen in self._seen.items()}

    def restore(self, s: LabelsSnapshot) -> None:
        """Admit exactly the values of `snapshot()` (cap and allow-lists are this policy's own)."""
        for dim, seen in s.items():
            self._seen[dim] = set(seen)
