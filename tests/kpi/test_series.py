"""Series.view: trailing windows over retained buckets (the stream worker's path)."""

from __future__ import annotations

import pytest

from kpi.config import EngineConfig, SeriesSpec
from kpi.engine import Engine
from kpi.formulas import kpi_rows
from .kpi_testkit import DAY0, HOUR, churned, created, line, nps, resolved, signed_up

K = DAY0 // HOUR  # bucket index of DAY0 in 1 h buckets

EVENTS = [
    signed_up("a", DAY0 + 10), signed_up("b", DAY0 + 20), created("t1", DAY0 + 30), nps(9, DAY0 + 40),
    signed_up("c", DAY0 + HOUR + 10), created("t2", DAY0 + HOUR + 20), nps(6, DAY0 + HOUR + 30),
    churned("a", DAY0 + 2 * HOUR + 10), churned("c", DAY0 + 2 * HOUR + 20), resolved("t1", DAY0 + 2 * HOUR + 30),
    nps(10, DAY0 + 2 * HOUR + 40),
    nps(8, DAY0 + 3 * HOUR + 400),  # closes buckets 0..2 (end 3h + grace 300 s)
]


def engine_with(*specs: SeriesSpec) -> Engine:
    engine = Engine(EngineConfig(grace_seconds=300), series=specs)
    for e in EVENTS:
        assert engine.process_raw(line(e)) == "accepted"
    return engine


def values(view) -> dict[tuple[str, tuple], object]:
    return {(k, tuple(sorted(labels.items()))): v for k, labels, v in kpi_rows(view)}


@pytest.mark.parametrize(
    ("first", "last", "expected"),
    [
        # [1h, 3h): nps [6, 10] -> 0; created t2; resolved t1; open at 3h: t2.
        # Base at 1h: {a, b}; churned in window and signed up before 1h: a (c signed up at 1h+10) -> 1/2.
        (1, 2, {"nps": 0.0, "nps_responses": 2, "tickets_created": 1, "tickets_resolved": 1, "open_tickets": 1,
                "churn_ratio": 0.5}),
        # [2h, 3h): nps [10]; base at 2h {a, b, c}; a and c churn -> 2/3; open at 3h: t2.
        (2, 2, {"nps": 100.0, "tickets_created": 0, "open_tickets": 1, "churn_ratio": 2 / 3}),
        # [0h, 4h) including the still-open bucket 3: nps [9, 6, 10, 8] -> P 2, D 1 -> 25; base at 0h: 0.
        (0, 3, {"nps": 25.0, "nps_responses": 4, "tickets_created": 2, "open_tickets": 1, "churn_ratio": None,
                "retention_ratio": None}),
        # [0h, 1h): open at 1h: t1.
        (0, 0, {"nps": 100.0, "tickets_created": 1, "open_tickets": 1, "churn_ratio": None}),
        # [3h, 4h): base at 3h: {b} -> nobody churns -> 0.0; open at 4h: t2.
        (3, 3, {"nps": 0.0, "open_tickets": 1, "churn_ratio": 0.0}),
    ],
)
def test_view_over_several_buckets(first: int, last: int, expected: dict) -> None:
    engine = engine_with(SeriesSpec(HOUR, retain_closed=10))
    (series,) = engine.series
    view = series.view(K + first, K + last)
    assert (view.start_seconds, view.end_seconds) == (DAY0 + first * HOUR, DAY0 + (last + 1) * HOUR)
    got = values(view)
    for kpi, value in expected.items():
        assert got[(kpi, ())] == (pytest.approx(value) if value is not None else None), kpi


def test_fine_buckets_add_up_to_the_coarse_bucket() -> None:
    engine = engine_with(SeriesSpec(300, retain_closed=48), SeriesSpec(HOUR, retain_closed=4))
    fine, coarse = engine.series
    for hour in range(3):
        a = values(fine.view((K + hour) * 12, (K + hour) * 12 + 11))
        b = values(coarse.view(K + hour, K + hour))
        for kpi in ("nps", "nps_responses", "tickets_created", "tickets_resolved", "open_tickets", "churn_ratio",
                    "resolution_time_mean_seconds"):
            assert a[(kpi, ())] == b[(kpi, ())], (hour, kpi)
