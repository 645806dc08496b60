"""Event-id deduplication whose memory is bounded by the grace period.

An id only needs remembering while a copy of its event could still be accepted: once
the watermark has moved more than the grace past the event's time, any copy is late
and rejected anyway. Ids are therefore kept in time slots that expire with the watermark.
"""

from __future__ import annotations

import math

from kpi.snapshots import DedupSnapshot


class Deduplicator:
    """Event ids seen within the grace, in time slots of `slot_seconds` (grace / 5, at least
    10 s) so that they expire with the watermark: memory is bounded by the ids of about
    grace + one slot of event time."""

    __slots__ = ("slot_seconds", "_seen", "_slots")

    def __init__(self, grace_seconds: float) -> None:
        # Small slots relative to the grace: ids live at most grace + one slot.
        self.slot_seconds = max(10.0, float(grace_seconds) / 5)
        self._seen: set[str] = set()
        self._slots: dict[int, list[str]] = {}

    def first_time(self, event_id: str, ts_seconds: float) -> bool:
        """True the first time an id is offered; False for a duplicate."""
        seen = self._seen
        if event_id in seen:
            return False
        seen.add(event_id)
        slot = math.floor(ts_seconds / self.slot_seconds)
        ids = self._slots.get(slot)
        if ids is None:
            self._slots[slot] = [event_id]
        else:
            ids.append(event_id)
        return True

    def expire(self, closed_before_seconds: float) -> None:
        """Forget ids of events older than the late boundary."""
        size = self.slot_seconds
        for slot in [s for s in self._slots if (s + 1) * size <= closed_before_seconds]:
            self._seen.difference_update(self._slots.pop(slot))

    def __len__(self) -> int:
        return len(self._seen)

    def snapshot(self) -> DedupSnapshot:
        """The remembered ids as (slot, ids) pairs (see kpi.snapshots)."""
        return [(slot, list(ids)) for slot, ids in self._slots.items()]

    def restore(self, s: DedupSnapshot) -> None:
        """Remember exactly the ids of `snapshot()` (slots are this deduplicator's own size)."""
        self._slots = {slot: list(ids) for slot, ids in s}
        self._seen = {i for _, ids in s for i in ids}
