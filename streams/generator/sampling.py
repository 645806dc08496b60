"""Small, fast draws on a caller-supplied `random.Random` (never the global one)."""

from __future__ import annotations

import bisect
import math
import random
from itertools import accumulate
from typing import Generic, Mapping, Sequence, TypeVar

T = TypeVar("T")


class WeightedChoice(Generic[T]):
    """Pick from fixed options with fixed weights in O(log n).

    `random.choices` rebuilds its cumulative table on every call; this keeps it.
    """

    __slots__ = ("_options", "_cumulative", "_total", "_last")

    def __init__(self, options: Sequence[T], weights: Sequence[float]) -> None:
        if len(options) != len(weights) or not options:
            raise ValueError("need as many weights as options, and at least one")
        if any(w < 0 for w in weights) or sum(weights) <= 0:
            raise ValueError("weights must be >= 0 with a positive sum")
        self._options = tuple(options)
        self._cumulative = list(accumulate(weights))
        self._total = self._cumulative[-1]
        self._last = len(self._options) - 1

    @classmethod
    def from_mapping(cls, weights: Mapping[T, float]) -> WeightedChoice[T]:
        """A choice over the keys of `weights`, each with its value as weight (>= 0, with a
        positive sum; ValueError otherwise)."""
        return cls(list(weights), list(weights.values()))

    def __call__(self, rng: random.Random) -> T:
        i = bisect.bisect_right(self._cumulative, rng.random() * self._total)
        # random() < 1, but the product can round up to the total
        return self._options[i if i <= self._last else self._last]


def lognormal_seconds(rng: random.Random, median_seconds: float, sigma: float) -> float:
    """Lognormal draw parameterised by its median, which is easier to reason about."""
    return median_seconds * math.exp(rng.gauss(0.0, sigma))
