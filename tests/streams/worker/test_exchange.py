"""Partials with fake Kafka: publishing, the exporter role and its resets, merge completeness.

The merge rules themselves are tests/streams/worker/test_partials.py; the proof with real
workers (two against one, a rebalance mid-stream) is tests/streams/test_reliability.py.
"""

from __future__ import annotations

import asyncio

from kpi.partial import TP, decode_partial, encode_partial
from streams.settings import Settings
from streams.worker.engines import PartitionEngines
from streams.worker.exchange import PartialsExchange
from tests.streams.worker.fakes import NOW, FakeGroup, FakeProducer, survey

T0, T1 = TP("tickets", 0), TP("tickets", 1)
S0, S1 = TP("surveys", 0), TP("surveys", 1)
ALL = {T0, T1, S0, S1}


def exchange(group: FakeGroup, producer: FakeProducer | None = None, worker_id: str = "me") -> PartialsExchange:
    engines = PartitionEngines(Settings(evaluation_interval="1s"), lambda d: None, clock=lambda: NOW)
    return PartialsExchange(Settings(evaluation_interval="1s"), engines, lambda: sorted(group.assigned), group, producer or FakeProducer(), worker_id)


def nps_responses(ex: PartialsExchange) -> int | None:
    rows = ex.merger.snapshot.windows.get("5m", [])
    return next((v for kpi, labels, v in rows if kpi == "nps_responses" and not labels), None)


def other_workers_partial(partitions: set[TP], responses: int, generation: int = 1) -> bytes:
    """Another worker's published partial, holding `responses` NPS responses."""
    engines = PartitionEngines(Settings(evaluation_interval="1s"), lambda d: None, clock=lambda: NOW)
    for i in range(responses):
        engines.handle("surveys", 1, i, survey(f"other-{i}", NOW - 10, customer=f"o{i}"))
    return encode_partial("other", generation, engines.evaluate(sorted(partitions)))


def test_the_partial_is_published_under_the_worker_id_with_the_generation() -> None:
    producer = FakeProducer()
    ex = exchange(FakeGroup({S0}, generation_id=7), producer)
    ex.engines.handle("surveys", 0, 0, survey("a", NOW - 10))
    asyncio.run(ex.evaluate_and_publish())
    ((topic, key, blob),) = producer.sent
    assert (topic, key) == ("kpi-monitor-partials", b"me")
    back = decode_partial(blob)
    assert (back.worker, back.generation, back.partial.partitions) == ("me", 7, [S0])


def test_nothing_is_published_before_the_worker_is_in_a_group() -> None:
    for generation in (None, -1):
        producer = FakeProducer()
        ex = exchange(FakeGroup({T0}, generation_id=generation, partitions=ALL), producer)
        asyncio.run(ex.evaluate_and_publish())
        assert producer.log == [] and ex.merger.workers == 0


def test_a_failed_publish_is_logged_and_the_exporter_still_merges_its_own_partial(caplog) -> None:
    producer = FakeProducer()
    producer.fail_on = {b"me"}
    ex = exchange(FakeGroup(ALL, partitions=ALL), producer)
    ex.engines.handle("surveys", 0, 0, survey("a", NOW - 10))
    asyncio.run(ex.evaluate_and_publish())
    assert "publishing the partial failed: ConnectionError" in caplog.text
    assert ex.merger.complete and nps_responses(ex) == 1  # a single worker needs no round trip


def test_a_publish_that_never_returns_gives_up_after_one_interval() -> None:
    producer = FakeProducer()
    producer.hang = True
    ex = exchange(FakeGroup({S0}), producer)
    ex.publish_timeout_seconds = 0.05
    asyncio.run(ex.evaluate_and_publish())  # returns: the next interval publishes again
    assert producer.sent == []


def test_the_exporter_merges_only_when_every_partition_is_covered() -> None:
    group = FakeGroup({T0, S0}, partitions=ALL)
    ex = exchange(group)
    ex.engines.handle("surveys", 0, 0, survey("a", NOW - 10))
    asyncio.run(ex.evaluate_and_publish())
    assert ex.is_exporter() and not ex.merger.complete and "2 missing" in ex.merger.problem
    ex.on_partial(other_workers_partial({T1, S1}, responses=2))
    # By hand: 1 response here, 2 from the other worker's partial.
    assert ex.merger.complete and ex.merger.workers == 2 and nps_responses(ex) == 3
    ex.on_partial(encode_partial("me", 1, ex.engines.partial))  # our own, back from the topic: taken directly already
    assert ex.merger.workers == 2


def test_without_the_partition_counts_the_values_are_never_complete() -> None:
    ex = exchange(FakeGroup(ALL, partitions=None))  # the metadata was not read yet
    asyncio.run(ex.evaluate_and_publish())
    assert not ex.merger.complete and "missing" in ex.merger.problem


def test_a_worker_that_loses_and_regains_the_role_never_serves_its_old_values() -> None:
    group = FakeGroup(ALL, partitions=ALL)
    ex = exchange(group)
    ex.engines.handle("surveys", 0, 0, survey("a", NOW - 10))
    asyncio.run(ex.evaluate_and_publish())
    assert ex.merger.complete and nps_responses(ex) == 1
    group.assigned = {T1, S0, S1}  # a rebalance: partition 0 of tickets moves to another worker
    ex.merge_if_exporter()
    assert not ex.is_exporter() and ex.merger.snapshot.evaluated_at == 0 and not ex.merger.complete
    ex.on_partial(other_workers_partial({T0}, responses=5, generation=2))  # the new exporter's share
    group.assigned = {T0}  # another rebalance gives it back before this worker's next evaluation
    ex.merge_if_exporter()
    # The newest generation's partials cover only tickets-0: incomplete, and the values merged
    # in the worker's previous turn (1 response) are not served again.
    assert ex.is_exporter() and not ex.merger.complete and "3 missing" in ex.merger.problem
    assert ex.merger.snapshot.evaluated_at == 0 and nps_responses(ex) is None


def test_a_merge_that_raises_marks_the_values_incomplete(caplog) -> None:
    group = FakeGroup({T0, S0}, partitions=ALL)
    ex = exchange(group)
    ex.engines.handle("surveys", 0, 0, survey("a", NOW - 10))
    asyncio.run(ex.evaluate_and_publish())
    other = other_workers_partial({T1, S1}, responses=1)
    back = decode_partial(other)
    back.partial.views["5m"].start_seconds -= 1  # a view of another window: merge_views refuses it
    ex.on_partial(encode_partial("other", 1, back.partial))
    assert not ex.merger.complete and ex.merger.problem == "merge failed"
    assert "merging the partials failed" in caplog.text
