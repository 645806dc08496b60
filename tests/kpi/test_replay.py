"""The window merger of a partitioned replay: complete windows only, in order, once."""

from __future__ import annotations

from kpi.aggregates import OVERALL, Bucket
from kpi.config import EngineConfig
from kpi.replay import WindowMerger
from kpi.series import WindowView

HOUR = 3600


def view(start: int, created: int, open_tickets: int = 0) -> WindowView:
    flows = Bucket()
    flows.group(OVERALL).created = created
    return WindowView(start, start + HOUR, flows, {OVERALL: open_tickets} if open_tickets else {}, {}, 0, 0, None)


def starts_and_created(views) -> list[tuple[int, int]]:
    return [(v.start_seconds, v.flows.groups[OVERALL].created) for v in views]


def test_a_window_waits_for_every_partition() -> None:
    merger = WindowMerger(2, EngineConfig())
    merger.add(0, view(0, 1))
    merger.add(0, view(HOUR, 2))
    assert list(merger.ready()) == []  # partition 1 has closed nothing yet
    merger.add(1, view(0, 10))
    assert starts_and_created(merger.ready()) == [(0, 11)]
    assert list(merger.ready()) == []  # each window once
    merger.add(1, view(HOUR, 20))
    merger.add(1, view(2 * HOUR, 40))
    assert starts_and_created(merger.ready()) == [(HOUR, 22)]
    assert merger.pending_windows == 1


def test_finishing_releases_what_a_partition_never_reports() -> None:
    merger = WindowMerger(3, EngineConfig())
    merger.add(0, view(5 * HOUR, 1, open_tickets=2))
    merger.add(1, view(4 * HOUR, 3))
    merger.add(1, view(5 * HOUR, 4, open_tickets=1))
    merger.finish(2)  # a partition that saw no events
    assert starts_and_created(merger.ready()) == [(4 * HOUR, 3), (5 * HOUR, 5)]
    merger.finish(0)
    merger.finish(1)
    assert list(merger.ready()) == []


def test_merged_open_tickets_add_up_across_partitions() -> None:
    merger = WindowMerger(2, EngineConfig())
    merger.add(0, view(0, 0, open_tickets=2))
    merger.add(1, view(0, 0, open_tickets=5))
    (merged,) = merger.ready()
    assert merged.open_tickets == {OVERALL: 7}
