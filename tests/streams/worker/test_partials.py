"""The exporter's merge rules, driven with hand-made partials (no Kafka).

The end-to-end proof (two workers against one, a rebalance mid-stream) is
tests/streams/test_reliability.py; these pin the rules that keep a share from being served
as the total.
"""

from __future__ import annotations

from kpi.aggregates import Bucket
from kpi.series import WindowView
from kpi.sla import LiveSla
from kpi.partial import WorkerPartial, decode_partial, encode_partial
from streams.worker.partials import KEEP_PER_WORKER, MAX_WORKERS, PartialsMerger

ALL = {("tickets", 0), ("tickets", 1), ("surveys", 0), ("surveys", 1)}


def partial(partitions, anchor: float = 1000.0, created: int = 1, open_: int = 0) -> WorkerPartial:
    flows = Bucket()
    flows.group(()).created = created
    view = WindowView(700, 1000, flows, {(): open_} if open_ else {}, {}, 0, 0, None)
    sla = {("billing", "high"): LiveSla(open_, 0, {"15m": 0})} if open_ else {}
    return WorkerPartial(anchor, anchor + 0.1, anchor - 5, sorted(partitions), {"5m": view}, sla)


def rows(exporter: PartialsMerger) -> dict:
    return {(kpi, tuple(labels.items())): v for kpi, labels, v in exporter.snapshot.windows["5m"]}


def test_partials_covering_every_partition_once_merge_into_the_total() -> None:
    ex = PartialsMerger(50, {})
    ex.receive(encode_partial("a", 3, partial({("tickets", 0), ("surveys", 0)}, created=2, open_=1)))
    assert not ex.merge(ALL) and "2 missing" in ex.problem  # one worker's share is never the total
    ex.receive(encode_partial("b", 3, partial({("tickets", 1), ("surveys", 1)}, created=3, open_=2)))
    assert ex.merge(ALL) and ex.complete and ex.workers == 2
    assert rows(ex)[("tickets_created", ())] == 5
    assert rows(ex)[("open_tickets", ())] == 3
    assert ex.snapshot.sla[("billing", "high")].open == 3


def test_a_partition_claimed_twice_is_not_merged() -> None:
    ex = PartialsMerger(50, {})
    ex.receive(encode_partial("a", 3, partial({("tickets", 0), ("tickets", 1), ("surveys", 0)})))
    ex.receive(encode_partial("b", 3, partial({("tickets", 1), ("surveys", 1)})))
    assert not ex.merge(ALL) and "claimed by two workers" in ex.problem


def test_only_the_newest_generation_counts_and_the_last_complete_values_stay_up() -> None:
    ex = PartialsMerger(50, {})
    ex.receive(encode_partial("a", 3, partial(ALL, created=7)))
    assert ex.merge(ALL)
    # A rebalance: b joins with generation 4 holding half; a has not republished yet.
    ex.receive(encode_partial("b", 4, partial({("tickets", 1), ("surveys", 1)}, anchor=1001, created=1)))
    assert not ex.merge(ALL) and not ex.complete
    assert rows(ex)[("tickets_created", ())] == 7  # the last complete values, flagged incomplete
    ex.receive(encode_partial("a", 4, partial({("tickets", 0), ("surveys", 0)}, anchor=1001, created=2)))
    assert ex.merge(ALL) and rows(ex)[("tickets_created", ())] == 3
    # A straggler of generation 3 from a changes nothing.
    ex.receive(encode_partial("a", 3, partial(ALL, anchor=1002, created=100)))
    assert ex.merge(ALL) and rows(ex)[("tickets_created", ())] == 3


def test_workers_are_merged_at_an_evaluation_time_they_all_have() -> None:
    ex = PartialsMerger(50, {})
    for anchor in (1000, 1001, 1002):
        ex.receive(encode_partial("a", 1, partial({("tickets", 0), ("surveys", 0)}, anchor=anchor, created=int(anchor) - 999)))
    ex.receive(encode_partial("b", 1, partial({("tickets", 1), ("surveys", 1)}, anchor=1001, created=10)))
    assert ex.merge(ALL)
    assert rows(ex)[("tickets_created", ())] == 2 + 10  # a's partial at 1001, not its newest
    # b stops publishing: after KEEP_PER_WORKER newer partials of a there is no common time.
    for anchor in range(1003, 1003 + KEEP_PER_WORKER):
        ex.receive(encode_partial("a", 1, partial({("tickets", 0), ("surveys", 0)}, anchor=anchor)))
    assert not ex.merge(ALL) and "no evaluation time in common" in ex.problem


def test_reset_forgets_merged_values_and_own_partials_come_in_directly() -> None:
    ex = PartialsMerger(50, {})
    ex.receive_local("me", 2, partial(ALL, created=4))
    ex.receive(encode_partial("me", 2, partial(ALL, anchor=999, created=99)), own_worker="me")  # ignored: taken directly
    assert ex.merge(ALL) and rows(ex)[("tickets_created", ())] == 4
    ex.reset()
    assert not ex.complete and ex.snapshot.windows == {} and ex.snapshot.evaluated_at == 0


def test_tracked_workers_are_bounded_and_undecodable_partials_only_counted() -> None:
    ex = PartialsMerger(50, {})
    for i in range(MAX_WORKERS + 40):
        ex.receive(encode_partial(f"w{i}", 5, partial(set(), anchor=1000 + i)))
    assert len(ex._latest) == MAX_WORKERS
    ex.receive(encode_partial("new", 7, partial(ALL)))  # two generations on: the old ones go
    assert set(ex._latest) == {"new"}
    for junk in (b"", b"not zlib", encode_partial("x", 1, partial(ALL))[:-3]):
        ex.receive(junk)
    import zlib

    ex.receive(zlib.compress(b'{"version": 1, "worker": "x"}'))  # well-formed, wrong shape
    ex.receive(zlib.compress(b"[1, 2]"))
    assert ex.undecodable == 5


def test_a_partial_survives_the_wire() -> None:
    p = partial(ALL, created=3, open_=2)
    back = decode_partial(encode_partial("w", 9, p))
    assert (back.worker, back.generation) == ("w", 9)
    assert back.partial.partitions == p.partitions and back.partial.anchor == p.anchor
    assert back.partial.views["5m"].flows.groups[()].created == 3
    assert back.partial.sla == p.sla
