"""Partials between workers: publish this worker's, follow everyone's, and hold the exporter role.

Every evaluation interval each worker evaluates its partial (streams/worker/engines.py) and
publishes it to `<app_id>-partials`; every worker follows that topic. The worker that owns
partition 0 of the first input topic is the exporter: it merges the partials
(streams/worker/partials.py) and serves the result. The exporter takes its own partial
directly, not through Kafka, so a single worker serves its values (and its live SLA gauges
keep moving) even while the brokers are away. A worker that gains or loses the role drops
what it merged before, so it never serves values from its previous turn.

`PartialsExchange` reaches Kafka only through `GroupMembership` and `RecordPublisher`
(streams/worker/kafka.py implements them), so it is unit-tested with fakes.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import uuid
from collections.abc import Callable, Iterable
from typing import Protocol

from kpi.partial import TP, encode_partial
from streams.settings import Settings
from streams.worker.engines import PartitionEngines
from streams.worker.partials import PartialsMerger

log = logging.getLogger("kpi_monitor.worker")


class GroupMembership(Protocol):
    """This worker's view of its consumer group."""

    def assignment(self) -> set[TP]:
        """The input partitions assigned to this worker now (empty before the consumer starts)."""
        ...

    def generation(self) -> int | None:
        """The consumer-group generation; None or negative while not in a group."""
        ...

    def all_partitions(self) -> set[TP] | None:
        """Every partition of every input topic, from cluster metadata; None until it has been read."""
        ...


class RecordPublisher(Protocol):
    """Publishes records to a topic."""

    async def send(self, topic: str, key: bytes, value: bytes) -> None:
        """Hand one record to the producer; returns once it is queued, not acknowledged. Raises on failure."""
        ...


def new_worker_id(port: int) -> str:
    """An id unique to this worker process: "<host>:<web port>:<8 hex digits>"."""
    return f"{socket.gethostname()}:{port}:{uuid.uuid4().hex[:8]}"


class PartialsExchange:
    """Publishes this worker's partial, receives everyone's, and merges them while it is the exporter.

    `claimed()`: the partitions this worker's partial claims (those whose state is restored).
    `merger`: the group's merged values; read `merger.snapshot` only while `is_exporter()`.
    """

    def __init__(
        self,
        settings: Settings,
        engines: PartitionEngines,
        claimed: Callable[[], Iterable[TP]],
        group: GroupMembership,
        publisher: RecordPublisher,
        worker_id: str,
    ) -> None:
        self.engines = engines
        self._claimed = claimed
        self.group = group
        self._publisher = publisher
        self.worker_id = worker_id
        self.topic = settings.partials_topic()
        self.first_input = settings.topics.inputs()[0]
        # Bounded: during an outage the producer may wait for buffer space far longer than one
        # interval (Faust's request timeout is 20 min); the next interval retries.
        self.publish_timeout_seconds = settings.evaluation_interval_seconds()
        self.merger = PartialsMerger(settings.max_label_values, {k: frozenset(v) for k, v in settings.label_allow.items()})
        self._was_exporter = False
        self._last_problem = ""

    def is_exporter(self) -> bool:
        """Whoever owns partition 0 of the first input topic: the group's assignment elects it."""
        return TP(self.first_input, 0) in self.group.assignment()

    async def evaluate_and_publish(self) -> None:
        """Evaluate this worker's partial, merge it (when exporting) and publish it.

        Nothing is published before the worker is in a group (no generation to claim).
        Never raises on Kafka failures: a failed or timed-out publish is logged, and the
        next interval publishes again.
        """
        partial = self.engines.evaluate(sorted(self._claimed()))
        generation = self.group.generation()
        if generation is None or generation < 0:
            return  # not in a group yet: nothing to claim
        # The exporter takes its own partial directly: a single worker needs no round trip
        # through Kafka, and keeps its SLA gauges moving during a broker outage.
        self.merger.receive_local(self.worker_id, generation, partial)
        self.merge_if_exporter()
        blob = encode_partial(self.worker_id, generation, partial)
        try:
            await asyncio.wait_for(self._publisher.send(self.topic, self.worker_id.encode(), blob), timeout=self.publish_timeout_seconds)
        except Exception as exc:  # noqa: BLE001 - the next interval publishes again
            log.warning("publishing the partial failed: %s: %s", type(exc).__name__, exc)

    def on_partial(self, blob: bytes) -> None:
        """A record from the partials topic (any worker's, this one's included)."""
        self.merger.receive(blob, own_worker=self.worker_id)
        self.merge_if_exporter()

    def merge_if_exporter(self) -> None:
        """Merge the partials when this worker is the exporter; reset the merge on a change of role.

        Never raises: a failing merge marks the values incomplete (the last complete ones stay).
        """
        exporting = self.is_exporter()
        if exporting != self._was_exporter:
            # A worker that regains the role must not serve what it merged when it last had it.
            self.merger.reset()
            self._was_exporter = exporting
        if not exporting:
            return
        merger = self.merger
        try:
            merger.merge(self.group.all_partitions())
        except Exception:  # noqa: BLE001 - one bad merge must not stop the exporter
            merger.complete = False
            merger.problem = "merge failed"
            log.exception("merging the partials failed")
        if merger.problem != self._last_problem:
            if merger.problem:
                log.info("KPI values not updated: %s (the last complete values stay up)", merger.problem)
            else:
                log.info("KPI values complete again: %d workers' partials merged", merger.workers)
            self._last_problem = merger.problem
