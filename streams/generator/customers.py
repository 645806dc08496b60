"""The bounded pool of live (signed up, not churned) customers."""

from __future__ import annotations

import random
from collections import deque

from streams.generator import catalog as cat

_FEATURES = tuple(cat.FEATURE_ADOPTION)
_ADOPTION = tuple(cat.FEATURE_ADOPTION.values())
# Churned customers who may come back; older ones are forgotten.
_CHURNED_MEMORY = 1000


class CustomerPool:
    """Live customers with the features each has adopted.

    Parallel lists with swap-remove keep picking and removing O(1). When the
    pool is full a random customer goes dormant (silently dropped): real
    customer bases have many accounts that simply stop showing up.
    """

    def __init__(self, rng: random.Random, max_customers: int, id_prefix: str) -> None:
        if max_customers < 1:
            raise ValueError("max_customers must be >= 1")
        self._rng = rng
        self._max_customers = max_customers
        self._id_prefix = id_prefix
        self._ids: list[str] = []
        self._feature_masks: list[int] = []
        self._churned: deque[str] = deque(maxlen=_CHURNED_MEMORY)
        self._signups = 0
        self.dormant = 0

    def __len__(self) -> int:
        return len(self._ids)

    @property
    def churned_remembered(self) -> int:
        """Churned customers the pool remembers for a later re-signup (at most 1,000, the oldest
        forgotten first)."""
        return len(self._churned)

    def sign_up(self) -> str:
        """A customer signs up: a remembered churned customer comes back (with
        `catalog.RESIGNUP_PROBABILITY`), else a new id `<id_prefix><n>`; each feature is adopted
        with its `catalog.FEATURE_ADOPTION` probability. A full pool first drops a random
        customer silently (counted in `dormant`). Returns the customer id."""
        rng = self._rng
        if self._churned and rng.random() < cat.RESIGNUP_PROBABILITY:
            customer_id = self._churned.popleft()
        else:
            self._signups += 1
            customer_id = f"{self._id_prefix}{self._signups}"
        if len(self._ids) >= self._max_customers:
            self._remove(rng.randrange(len(self._ids)))
            self.dormant += 1
        mask = 0
        for bit, adoption in enumerate(_ADOPTION):
            if rng.random() < adoption:
                mask |= 1 << bit
        self._ids.append(customer_id)
        self._feature_masks.append(mask)
        return customer_id

    def churn(self) -> str | None:
        """A random live customer churns: removed from the pool and remembered for a possible
        return. Returns its id, or None when the pool is empty."""
        if not self._ids:
            return None
        customer_id = self._remove(self._rng.randrange(len(self._ids)))
        self._churned.append(customer_id)
        return customer_id

    def pick(self) -> str | None:
        """A live customer chosen uniformly at random (still in the pool), or None when the pool
        is empty."""
        if not self._ids:
            return None
        return self._ids[self._rng.randrange(len(self._ids))]

    def pick_feature_user(self, attempts: int = 3) -> tuple[str, str] | None:
        """A customer and one of the features they adopted, or None if the
        customers tried have adopted none."""
        rng = self._rng
        for _ in range(attempts if self._ids else 0):
            i = rng.randrange(len(self._ids))
            mask = self._feature_masks[i]
            if mask:
                adopted = [f for bit, f in enumerate(_FEATURES) if mask >> bit & 1]
                return self._ids[i], adopted[rng.randrange(len(adopted))]
        return None

    def _remove(self, i: int) -> str:
        ids, masks = self._ids, self._feature_masks
        customer_id = ids[i]
        ids[i] = ids[-1]
        masks[i] = masks[-1]
        ids.pop()
        masks.pop()
        return customer_id
