"""The batch consumer's seek-back bookkeeping, fed by the restores (`FirstOffsets`).

A restored partition's state ends at the offset of its checkpoint; the committed offset is
written only after that checkpoint, so the first fetch of the partition never starts past
it. Should it ever (a commit ran ahead of its checkpoint), the consumer seeks back once.
No Faust here: `streams/worker/checkpoints.py` (durable state) fills this in, and
`streams/worker/batching.py` (the Faust consumer) reads it, through the one instance both
are given (`BatchHooks.first_offsets`).
"""

from __future__ import annotations

import logging

from kpi.partial import TP

log = logging.getLogger("kpi_monitor.worker")


class FirstOffsets:
    """Restored partitions whose first fetched batch is still to be checked against the
    offset their restored state ends at, and the offset each was already sent back to once.

    Only a restored partition's first batch is checked: later gaps in offsets are
    transaction markers or compaction, not missing records.
    """

    def __init__(self) -> None:
        self._expected: dict[TP, int] = {}
        self._sought_back: dict[TP, int] = {}

    def expect(self, tp: TP, offset: int) -> None:
        """`tp` was restored from a checkpoint whose state ends before `offset`."""
        self._expected[tp] = offset
        self._sought_back.pop(tp, None)

    def forget(self, tp: TP) -> None:
        """`tp` was revoked, or starts without a checkpoint: nothing to check."""
        self._expected.pop(tp, None)
        self._sought_back.pop(tp, None)

    def seek_back_to(self, tp: TP, first_offset: int) -> int | None:
        """The offset to seek `tp` back to before handing over a batch starting at `first_offset`, else None.

        A batch from past the restored offset means a commit ran ahead of its checkpoint: go
        back once rather than lose the records in between. Fetched from past it again, the
        records are gone (retention): continue without them, logged.
        """
        expected = self._expected.get(tp)
        if expected is None or first_offset <= expected:
            return None
        if self._sought_back.get(tp) != expected:
            self._sought_back[tp] = expected
            log.warning("%s-%d: fetched from offset %d but the state ends at %d; seeking back", tp[0], tp[1], first_offset, expected)
            return expected
        log.warning("%s-%d: offsets %d..%d are gone (retention); continuing without them", tp[0], tp[1], expected, first_offset - 1)
        return None

    def handed_over(self, tp: TP, last_offset: int) -> None:
        """A batch of `tp` ending at `last_offset` went to the engines: once it reaches the
        restored offset (rather than being all re-read records), the check is done."""
        expected = self._expected.get(tp)
        if expected is not None and last_offset >= expected:
            del self._expected[tp]
