"""Scale-out without per-worker fragments: the exporting worker merges every worker's partial into the total.

Each worker merges the views of its own partitions into a partial (streams/worker/engines.py)
and publishes it to the partials topic every evaluation interval (streams/worker/exchange.py).
The worker that owns partition 0 of the first input topic (an owner the consumer group's
assignment already elects) merges the latest partial of every worker here and serves the
result on /metrics. The others serve no KPI series at all, so no single worker's share can
be read as the total, and no recording rule has to reassemble KPIs (quantiles and distinct
counts cannot be summed in PromQL; sketches can be merged here).

A merged result is published only when the partials of the newest consumer-group
generation cover every input partition exactly once; until then (during a rebalance) the
last complete result stays up and `cxkpi_export_complete` is 0.
"""

from __future__ import annotations

from collections import deque

from kpi import state
from kpi.merge import merge_and_cap
from kpi.partial import TP, KpiSnapshot, PartialRecord, WorkerPartial, decode_partial
from kpi.sla import LiveSla

KEEP_PER_WORKER = 8  # recent partials per worker, to find an anchor every worker has
MAX_WORKERS = 256  # workers tracked; restarts bring new ids, old ones are pruned


class PartialsMerger:
    """The newest partials of every worker in the group, and their merge: the group's KPI values.

    Holds per worker its last `KEEP_PER_WORKER` partials (at most `MAX_WORKERS` workers).
    After `merge`, `snapshot` is the last complete merge (an empty `KpiSnapshot` before the
    first), `complete` says whether the newest merge succeeded, `workers` how many workers'
    partials it holds, and `problem` why it did not ("" when it did). `undecodable` counts
    partials that could not be decoded (dropped). Label values of the merge are capped again
    at `max_label_values` per label (allow-lists `label_allow`: label -> allowed values).
    """

    def __init__(self, max_label_values: int, label_allow: dict[str, frozenset[str]]) -> None:
        self._max_label_values = max_label_values
        self._label_allow = label_allow
        self._latest: dict[str, deque[PartialRecord]] = {}
        self.snapshot = KpiSnapshot()
        self.complete = False
        self.workers = 0
        self.undecodable = 0
        self.problem = ""

    def reset(self) -> None:
        """Forget the merged values (not the partials): on gaining or losing the exporter role."""
        self.snapshot = KpiSnapshot()
        self.complete = False
        self.workers = 0

    def receive(self, blob: bytes, own_worker: str | None = None) -> None:
        """Take a partial from the partials topic (`kpi.partial.encode_partial` bytes).

        Undecodable bytes are counted in `undecodable`, never raised. `own_worker`'s partials
        are ignored: this worker's own partial comes in directly (`receive_local`).
        """
        try:
            r = decode_partial(blob)
        except state.StateError:
            self.undecodable += 1
            return
        if r.worker != own_worker:
            self._add(r)

    def receive_local(self, worker: str, generation: int, partial: WorkerPartial) -> None:
        """Take this worker's own partial directly (no round trip through Kafka)."""
        self._add(PartialRecord(worker, generation, partial))

    def _add(self, r: PartialRecord) -> None:
        history = self._latest.get(r.worker)
        if history is None:
            history = self._latest[r.worker] = deque(maxlen=KEEP_PER_WORKER)
        if history and history[-1].generation > r.generation:
            return  # a straggler from before this worker's last rebalance
        history.append(r)
        self._prune()

    def _prune(self) -> None:
        """Bound the tracked workers: every restart brings a new worker id."""
        latest = self._latest
        newest = max(h[-1].generation for h in latest.values())
        for worker in [w for w, h in latest.items() if h[-1].generation < newest - 1]:
            del latest[worker]
        while len(latest) > MAX_WORKERS:
            del latest[min(latest, key=lambda w: latest[w][-1].partial.evaluated_at)]

    def merge(self, expected: set[TP] | None) -> bool:
        """Merge the newest generation's partials at the newest evaluation time they all have.

        `expected`: every input partition (None: not known yet, so never complete). True, and
        a new `snapshot`, when the chosen partials cover `expected` exactly once; otherwise
        False with `problem` set, and the last complete `snapshot` stays.
        """
        if not self._latest:
            self.problem = "no partials received yet"
            return self._incomplete()
        # Workers of older generations have left the group, or will publish again once they
        # have their new assignment (pruned in `_add`).
        generation = max(h[-1].generation for h in self._latest.values())
        current = {w: [r for r in h if r.generation == generation] for w, h in self._latest.items()}
        current = {w: rs for w, rs in current.items() if rs}
        anchors = set.intersection(*({r.partial.anchor for r in rs} for rs in current.values()))
        if not anchors:
            # One worker's recent partials share no evaluation time with the others': it
            # stopped publishing (stuck, or cut off from the partials topic).
            self.problem = f"generation {generation}: the workers' recent partials have no evaluation time in common"
            return self._incomplete()
        anchor = max(anchors)
        chosen = [max((r for r in rs if r.partial.anchor == anchor), key=lambda r: r.partial.evaluated_at) for rs in current.values()]
        claimed = [tp for r in chosen for tp in r.partial.partitions]
        covered = set(claimed)
        if len(claimed) != len(covered):
            self.problem = f"generation {generation}: a partition is claimed by two workers"
            return self._incomplete()
        if expected is None or covered != expected:
            missing = len(expected - covered) if expected is not None else "?"
            self.problem = f"generation {generation}: {len(covered)} partitions covered, {missing} missing"
            return self._incomplete()
        # A worker may own no partition: only the windows someone has are merged. One label
        # policy for every window, fresh per merge (`merge_and_cap`, as the parallel replay).
        names = dict.fromkeys(name for r in chosen for name in r.partial.views)
        capped = merge_and_cap(
            {name: [r.partial.views[name] for r in chosen if name in r.partial.views] for name in names},
            self._max_label_values, self._label_allow,
        )
        windows, labels = capped.views, capped.labels
        sla: dict[tuple[str, str], LiveSla] = {}
        for r in chosen:
            for (team, priority), s in r.partial.sla.items():
                key = (labels.map("team", team), priority)
                total = sla.get(key)
                if total is None:
                    total = sla[key] = LiveSla(0, 0, {h: 0 for h in s.at_risk})
                total.open += s.open
                total.breached += s.breached
                for h, n in s.at_risk.items():
                    total.at_risk[h] = total.at_risk.get(h, 0) + n
        marks = [r.partial.watermark for r in chosen if r.partial.watermark is not None]
        whole = WorkerPartial(
            chosen[0].partial.anchor,
            min(r.partial.evaluated_at for r in chosen),
            max(marks) if marks else None,
            sorted(covered),
            windows,
            sla,
        )
        self.snapshot = whole.snapshot()
        self.workers = len(chosen)
        self.complete = True
        self.problem = ""
        return True

    def _incomplete(self) -> bool:
        self.complete = False
        return False
