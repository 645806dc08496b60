"""Rejects the engine produces (late, unknown_ticket, ticket_exists), duplicates, blank lines, stats.

And: every reject reason a replay can produce reaches the caller with its raw bytes.
"""

from __future__ import annotations

import json

import pytest

from kpi import contract
from kpi.engine import ACCEPTED, DUPLICATE, Engine
from kpi.config import EngineConfig
from kpi.contract import Rejected
from .kpi_testkit import (
    DAY0, HOUR, created, csat, customer_replied, line, nps, order, reopened, replied, resolved, run, run_lines,
)

T = DAY0 + 10 * HOUR


@pytest.mark.parametrize("make", [replied, customer_replied, reopened, resolved])
def test_lifecycle_event_for_an_unknown_ticket_is_rejected(make) -> None:
    result = run([created("known", T), make("ghost", T + 10), nps(9, T + 20)])
    assert result.reasons() == [contract.UNKNOWN_TICKET]
    assert result.value("nps_responses", 10) == 1
    assert result.value("tickets_created", 10) == 1


def test_lifecycle_event_before_its_creation_is_rejected_as_unknown() -> None:
    result = run([replied("t", T + 5), created("t", T), resolved("t", T + 10)])
    assert result.reasons() == [contract.UNKNOWN_TICKET]
    assert result.value("first_response_time_mean_seconds", 10) is None
    assert result.value("tickets_resolved", 10) == 1


def test_second_creation_of_a_ticket_is_rejected() -> None:
    # Same ticket id, a different event id: ticket_exists; the first creation stands.
    result = run([created("t", T, priority="urgent"), created("t", T + 5, priority="low"), resolved("t", T + 100)])
    assert result.reasons() == [contract.TICKET_EXISTS]
    assert result.value("tickets_created", 10) == 1
    assert result.value("tickets_created", 10, priority="urgent") == 1
    assert not result.has("tickets_created", 10, priority="low")


@pytest.mark.parametrize(
    ("late_ts", "is_late"),
    [
        (T + 1000 - 301, True),
        (T + 1000 - 300.001, True),
        (T + 1000 - 300, False),  # exactly watermark - grace: still accepted
        (T + 1000 - 299, False),
    ],
)
def test_late_means_older_than_watermark_minus_grace(late_ts: float, is_late: bool) -> None:
    result = run([nps(9, T + 1000), nps(0, late_ts)], grace_seconds=300)
    assert result.reasons() == ([contract.LATE] if is_late else [])
    assert result.value("nps_responses", 10) == (1 if is_late else 2)


def test_zero_grace_rejects_anything_older_than_the_watermark() -> None:
    result = run([nps(9, T + 10), nps(9, T + 10), nps(9, T + 9.999)], grace_seconds=0)
    assert result.reasons() == [contract.LATE]


def test_only_accepted_events_move_the_watermark() -> None:
    # The unknown-ticket and unsupported-currency events at T+5000 are rejected, so the event at T+10
    # is not late (watermark is still T+20 from the accepted survey).
    events = [nps(9, T + 20), resolved("ghost", T + 5000), order("o", "c", 1, T + 5000, currency="XXX"), nps(9, T + 10)]
    result = run(events, grace_seconds=60)
    assert result.reasons() == [contract.UNKNOWN_TICKET, contract.UNSUPPORTED_CURRENCY]
    assert result.value("nps_responses", 10) == 2


def test_late_events_do_not_move_the_watermark_or_count() -> None:
    result = run([nps(9, T + 1000), nps(0, T), nps(0, T + 701)], grace_seconds=300)
    assert result.reasons() == [contract.LATE]
    assert result.value("nps", 10) == 0.0  # [9, 0]


def test_duplicates_count_once() -> None:
    a = nps(9, T + 1, event_id="dup-1")
    b = csat(1, T + 2, event_id="dup-2")
    result = run([a, b, a, a, b, nps(0, T + 3)])
    assert result.rejects == []
    assert result.stats.duplicates == 3
    assert result.stats.accepted == 3
    assert result.value("nps_responses", 10) == 2
    assert result.value("csat_responses", 10) == 1


def test_a_duplicate_creation_is_a_duplicate_not_a_second_ticket() -> None:
    c = created("t", T, event_id="c-1")
    result = run([c, c, resolved("t", T + 60)])
    assert result.rejects == []
    assert result.stats.duplicates == 1
    assert result.value("tickets_created", 10) == 1


def test_a_duplicate_arriving_out_of_order_within_grace_counts_once() -> None:
    a = nps(9, T + 100, event_id="x")
    result = run([a, nps(0, T + 300), a, nps(0, T + 350), a], grace_seconds=300)
    assert result.rejects == []
    assert result.stats.duplicates == 2
    assert result.value("nps_responses", 10) == 3


def test_duplicate_resolution_is_not_a_re_resolution() -> None:
    r = resolved("t", T + 60, event_id="r-1")
    result = run([created("t", T), r, r])
    assert result.value("tickets_resolved", 10) == 1


def test_blank_lines_are_skipped_and_not_counted() -> None:
    raw_lines = [b"", b"\n", line(nps(9, T)) + b"\n", b"   \n", b"\r\n", b"\t\n", line(nps(7, T + 1)) + b"\n"]
    result = run_lines(raw_lines)
    assert result.rejects == []
    assert result.stats.read == 2
    assert result.stats.accepted == 2
    assert result.value("nps_responses", 10) == 2


# One raw line per reason a replay can produce, after an accepted survey at T and a ticket "t1".
PRELUDE = [line(nps(9, T + 1000)), line(created("t1", T + 1000))]
ONE_PER_REASON = {
    contract.INVALID_JSON: b'{"event_id": "x1", "type": ',
    contract.NOT_AN_OBJECT: b'["event_id", "x2"]',
    contract.MISSING_FIELD: json.dumps({"event_id": "x3", "type": "survey.nps", "ts": T + 1000, "customer_id": "c"}).encode(),
    contract.WRONG_TYPE: line(nps("9", T + 1000, event_id="x4")),
    contract.OUT_OF_RANGE: line(csat(6, T + 1000, event_id="x5")),
    contract.EMPTY_FIELD: line(nps(9, T + 1000, event_id="x6", customer="")),
    contract.UNKNOWN_TYPE: json.dumps({"event_id": "x7", "type": "ticket.escalated", "ts": T + 1000}).encode(),
    contract.UNSUPPORTED_CURRENCY: line(order("o", "c", 5, T + 1000, currency="GBP", event_id="x8")),
    contract.NAIVE_TIMESTAMP: line(nps(9, "2026-11-25T10:16:40", event_id="x9")),
    contract.INVALID_TIMESTAMP: line(nps(9, "25/11/2026 10:16", event_id="x10")),
    contract.UNKNOWN_TICKET: line(resolved("nope", T + 1000, event_id="x11")),
    contract.TICKET_EXISTS: line(created("t1", T + 1001, event_id="x12")),
    contract.LATE: line(nps(9, T, event_id="x13")),
}


def test_every_reason_is_produced_with_its_raw_bytes() -> None:
    # too_large is the transport's size check (streams); future_timestamp needs a wall clock
    # (the live worker's `not_after`, tested below), which a replay does not have.
    assert set(ONE_PER_REASON) == set(contract.REASONS) - {contract.TOO_LARGE, contract.FUTURE, contract.INTERNAL_ERROR}
    raw_lines = PRELUDE + list(ONE_PER_REASON.values()) + [line(nps(10, T + 1001))]
    result = run_lines(raw_lines)
    assert [r.reason for r in result.rejects] == list(ONE_PER_REASON)
    assert [r.raw for r in result.rejects] == list(ONE_PER_REASON.values())
    assert all(isinstance(r.detail, str) and r.detail for r in result.rejects)
    assert dict(result.stats.rejected) == {reason: 1 for reason in ONE_PER_REASON}
    assert result.stats.read == len(raw_lines)
    assert result.stats.accepted == 3
    assert result.value("nps_responses", 10) == 2


def test_process_raw_returns_outcomes_and_never_raises() -> None:
    engine = Engine(EngineConfig())
    assert engine.process_raw(line(nps(9, T, event_id="k"))) == ACCEPTED
    assert engine.process_raw(line(nps(9, T, event_id="k"))) == DUPLICATE
    for data in [b"", b"\x00\x01", b"{}", b"[]", b'{"type": null}', b'{"event_id": "a", "type": "survey.nps", "ts": {}}',
                 b"1e999", b'{"event_id": "z", "type": "order.placed", "ts": 0, "amount": 1e308, "currency": "USD",'
                 b' "order_id": "o", "customer_id": "c"}']:
        outcome = engine.process_raw(data)
        assert isinstance(outcome, Rejected) or outcome == ACCEPTED, data
    stats = engine.stats
    assert stats.read == 10
    assert stats.accepted + stats.duplicates + sum(stats.rejected.values()) == stats.read


def test_events_after_not_after_are_rejected_and_do_not_move_the_watermark() -> None:
    engine = Engine(EngineConfig(grace_seconds=300))
    assert engine.process_raw(line(nps(9, T, event_id="a")), not_after=T + 60) == ACCEPTED
    far = line(nps(9, T + 86400 * 365, event_id="b"))
    outcome = engine.process_raw(far, not_after=T + 60)
    assert isinstance(outcome, Rejected) and outcome.reason == contract.FUTURE and outcome.raw == far
    assert engine.watermark.value == T  # the far-future event moved nothing
    assert engine.process_raw(line(nps(7, T + 30, event_id="c")), not_after=T + 60) == ACCEPTED
    assert engine.stats.rejected == {contract.FUTURE: 1}
    # At the boundary itself the event is still accepted; a replay passes no bound at all.
    assert engine.process_raw(line(nps(7, T + 60, event_id="d")), not_after=T + 60) == ACCEPTED
    assert engine.process_raw(far) == ACCEPTED
