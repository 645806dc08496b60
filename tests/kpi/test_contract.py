"""Event contract v1: what decodes, what is rejected, and with which reason."""

from __future__ import annotations

import json

import pytest

from kpi import contract
from kpi.contract import Decoder, Event, Rejected
from .kpi_testkit import DAY0

TS = "2026-11-25T10:00:00Z"
TS_SECONDS = DAY0 + 10 * 3600

# One minimal valid event of every type.
VALID = {
    "ticket.created": {"ticket_id": "t1", "customer_id": "c1", "team": "billing", "channel": "email", "priority": "urgent"},
    "ticket.agent_replied": {"ticket_id": "t1", "agent_id": "a1"},
    "ticket.customer_replied": {"ticket_id": "t1"},
    "ticket.reopened": {"ticket_id": "t1"},
    "ticket.resolved": {"ticket_id": "t1", "agent_id": "a1"},
    "survey.nps": {"customer_id": "c1", "score": 9},
    "survey.csat": {"customer_id": "c1", "score": 4},
    "survey.ces": {"customer_id": "c1", "score": 2},
    "checkout.started": {"customer_id": "c1"},
    "order.placed": {"order_id": "o1", "customer_id": "c1", "amount": 12.5, "currency": "USD"},
    "customer.signed_up": {"customer_id": "c1"},
    "customer.churned": {"customer_id": "c1"},
    "customer.active": {"customer_id": "c1"},
    "feature.used": {"customer_id": "c1", "feature": "export"},
}


def raw(etype: str = "survey.nps", drop: tuple[str, ...] = (), **overrides: object) -> bytes:
    obj: dict[str, object] = {"event_id": "e1", "type": etype, "ts": TS, **VALID.get(etype, {})}
    obj.update(overrides)
    for name in drop:
        obj.pop(name)
    return json.dumps(obj).encode()


def decode(data: bytes, **kw: object) -> Event | Rejected:
    return Decoder(**kw).decode(data)  # type: ignore[arg-type]


def test_the_valid_table_covers_every_type() -> None:
    assert set(VALID) == set(contract.SCHEMAS)


def test_topics_and_their_keys_follow_the_schemas() -> None:
    # By hand from SCHEMAS: the topics in the order their first event type is listed.
    assert contract.TOPICS == ("tickets", "surveys", "orders", "customers")
    assert list(contract.TOPIC_KEYS) == list(contract.TOPICS)
    for etype, (topic, required, _) in contract.SCHEMAS.items():
        # Every event of a topic carries its partition key, so it can be keyed (and routed) by it.
        assert contract.TOPIC_KEYS[topic] in required, etype


@pytest.mark.parametrize("etype", sorted(VALID))
def test_every_type_decodes(etype: str) -> None:
    event = decode(raw(etype))
    assert isinstance(event, Event), event
    assert event.type == etype
    assert event.event_id == "e1"
    assert event.ts == TS_SECONDS
    for name, value in VALID[etype].items():
        assert getattr(event.body, name) == value


def test_unknown_extra_fields_are_ignored() -> None:
    event = decode(raw("survey.nps", extra={"nested": [1, 2]}, another=None, schema_version=1))
    assert isinstance(event, Event)
    assert event.body.score == 9


@pytest.mark.parametrize("field", ["ticket_id", "team", "channel"])
def test_optional_survey_fields_may_be_present_or_null(field: str) -> None:
    assert isinstance(decode(raw("survey.csat", **{field: "x"})), Event)
    assert isinstance(decode(raw("survey.csat", **{field: None})), Event)


@pytest.mark.parametrize(
    ("amount", "currency", "fx", "micros"),
    [
        (12.5, "USD", None, 12_500_000),
        (0, "USD", None, 0),  # an amount of zero is allowed (>= 0)
        (19.99, "USD", None, 19_990_000),
        (10, "EUR", {"EUR": 1.1}, 11_000_000),  # 10 EUR * 1.1 = 11 USD
        (3, "JPY", {"JPY": 0.25, "EUR": 2.0}, 750_000),  # 3 * 0.25 = 0.75
    ],
)
def test_order_amount_is_converted_to_reporting_micros(amount, currency, fx, micros) -> None:
    event = decode(raw("order.placed", amount=amount, currency=currency), fx_rates=fx)
    assert isinstance(event, Event), event
    assert event.amount_micros == micros


def test_reporting_currency_is_configurable() -> None:
    assert isinstance(decode(raw("order.placed", currency="EUR"), reporting_currency="EUR"), Event)
    rejected = decode(raw("order.placed", currency="USD"), reporting_currency="EUR")
    assert isinstance(rejected, Rejected) and rejected.reason == contract.UNSUPPORTED_CURRENCY


# (raw bytes, expected reason). Every decode-time reason appears at least once.
DECODE_REJECTS = [
    # invalid_json
    (b"this is not json", contract.INVALID_JSON),
    (b'{"event_id": "e1", "type": "survey.nps"', contract.INVALID_JSON),
    (b"\xff\xfe\x00garbage", contract.INVALID_JSON),
    (b'{"event_id": "e1", "type": "survey.nps", "ts": NaN}', contract.INVALID_JSON),
    # not_an_object
    (b"[1, 2, 3]", contract.NOT_AN_OBJECT),
    (b'"survey.nps"', contract.NOT_AN_OBJECT),
    (b"42", contract.NOT_AN_OBJECT),
    (b"null", contract.NOT_AN_OBJECT),
    # missing_field
    (raw(drop=("event_id",)), contract.MISSING_FIELD),
    (raw(drop=("type",)), contract.MISSING_FIELD),
    (raw(drop=("ts",)), contract.MISSING_FIELD),
    (raw(drop=("score",)), contract.MISSING_FIELD),
    (raw(drop=("customer_id",)), contract.MISSING_FIELD),
    (raw("ticket.created", drop=("priority",)), contract.MISSING_FIELD),
    (raw("ticket.created", drop=("team",)), contract.MISSING_FIELD),
    (raw("ticket.resolved", drop=("agent_id",)), contract.MISSING_FIELD),
    (raw("order.placed", drop=("amount",)), contract.MISSING_FIELD),
    (raw("order.placed", drop=("currency",)), contract.MISSING_FIELD),
    (raw("feature.used", drop=("feature",)), contract.MISSING_FIELD),
    # wrong_type: scores must be JSON integers, ids strings, amounts numbers
    (raw(score="9"), contract.WRONG_TYPE),
    (raw(score=7.5), contract.WRONG_TYPE),
    (raw(score=9.0), contract.WRONG_TYPE),
    (raw(score=True), contract.WRONG_TYPE),
    (raw(score=None), contract.WRONG_TYPE),
    (raw(event_id=17), contract.WRONG_TYPE),
    (raw(customer_id=["c1"]), contract.WRONG_TYPE),
    (raw(team=5), contract.WRONG_TYPE),  # optional fields are checked when present
    (raw("ticket.created", team=None), contract.WRONG_TYPE),  # required fields may not be null
    (raw("ticket.created", priority=1), contract.WRONG_TYPE),
    (raw("order.placed", amount="12.50"), contract.WRONG_TYPE),
    (raw("order.placed", amount=True), contract.WRONG_TYPE),
    (raw("order.placed", currency=840), contract.WRONG_TYPE),
    # out_of_range
    (raw("survey.nps", score=11), contract.OUT_OF_RANGE),
    (raw("survey.nps", score=-1), contract.OUT_OF_RANGE),
    (raw("survey.csat", score=0), contract.OUT_OF_RANGE),
    (raw("survey.csat", score=6), contract.OUT_OF_RANGE),
    (raw("survey.ces", score=0), contract.OUT_OF_RANGE),
    (raw("survey.ces", score=8), contract.OUT_OF_RANGE),
    (raw("ticket.created", priority="critical"), contract.OUT_OF_RANGE),
    (raw("ticket.created", priority="Urgent"), contract.OUT_OF_RANGE),
    (raw("order.placed", amount=-0.01), contract.OUT_OF_RANGE),
    (raw("order.placed", amount=1e308), contract.OUT_OF_RANGE),  # overflows once in micro-units
    # empty_field
    (raw(event_id=""), contract.EMPTY_FIELD),
    (raw(customer_id=""), contract.EMPTY_FIELD),
    (raw(team=""), contract.EMPTY_FIELD),
    (raw("ticket.created", channel=""), contract.EMPTY_FIELD),
    (raw("ticket.created", priority=""), contract.EMPTY_FIELD),
    (raw("order.placed", currency=""), contract.EMPTY_FIELD),
    (raw("feature.used", feature=""), contract.EMPTY_FIELD),
    # unknown_type
    (raw(type="ticket.deleted"), contract.UNKNOWN_TYPE),
    (raw(type="Survey.NPS"), contract.UNKNOWN_TYPE),
    (raw(type=""), contract.UNKNOWN_TYPE),
    # unsupported_currency
    (raw("order.placed", currency="EUR"), contract.UNSUPPORTED_CURRENCY),
    # naive_timestamp
    (raw(ts="2026-11-25T10:00:00"), contract.NAIVE_TIMESTAMP),
    (raw(ts="2026-11-25T10:00:00.250"), contract.NAIVE_TIMESTAMP),
    # invalid_timestamp
    (raw(ts="yesterday"), contract.INVALID_TIMESTAMP),
    (raw(ts="2026-11-25"), contract.INVALID_TIMESTAMP),
    (raw(ts="2026-11-25T10:00Z"), contract.INVALID_TIMESTAMP),
    (raw(ts="2026-13-01T00:00:00Z"), contract.INVALID_TIMESTAMP),
    (raw(ts="2026-11-25T25:00:00Z"), contract.INVALID_TIMESTAMP),
    (raw(ts="1795564800"), contract.INVALID_TIMESTAMP),
    (raw(ts=None), contract.INVALID_TIMESTAMP),
    (raw(ts=True), contract.INVALID_TIMESTAMP),
    (raw(ts=[2026, 11, 25]), contract.INVALID_TIMESTAMP),
]


@pytest.mark.parametrize(("data", "reason"), DECODE_REJECTS, ids=lambda x: x if isinstance(x, str) else None)
def test_rejects_carry_reason_detail_and_raw_bytes(data: bytes, reason: str) -> None:
    result = decode(data)
    assert isinstance(result, Rejected), result
    assert result.reason == reason, result.detail
    assert result.raw == data
    assert isinstance(result.detail, str) and result.detail


def test_decode_table_covers_every_decode_reason() -> None:
    engine_reasons = {contract.UNKNOWN_TICKET, contract.TICKET_EXISTS, contract.LATE, contract.TOO_LARGE, contract.FUTURE,
                      contract.INTERNAL_ERROR}
    assert {reason for _, reason in DECODE_REJECTS} == set(contract.REASONS) - engine_reasons


def test_every_reason_constant_is_listed_once() -> None:
    assert len(set(contract.REASONS)) == len(contract.REASONS)
    assert all(r == r.lower() and " " not in r for r in contract.REASONS)


def test_missing_event_id_is_reported_before_an_unknown_type() -> None:
    # The reason names the first problem in contract order (event_id, type, ts, fields).
    data = json.dumps({"type": "nope", "ts": TS}).encode()
    result = decode(data)
    assert isinstance(result, Rejected) and result.reason == contract.MISSING_FIELD


@pytest.mark.parametrize("depth", [1_100, 200_000])
def test_deep_nesting_is_rejected_with_a_reason_not_a_crash(depth: int) -> None:
    data = b'{"event_id":"e","type":"customer.active","ts":0,"customer_id":"c","x":' + b"[" * depth + b"]" * depth + b"}"
    result = decode(data)
    assert isinstance(result, Rejected)
    assert result.reason == contract.INVALID_JSON and "depth" in result.detail


def test_moderate_nesting_in_an_ignored_field_is_fine() -> None:
    data = b'{"event_id":"e","type":"customer.active","ts":0,"customer_id":"c","x":' + b"[" * 500 + b"]" * 500 + b"}"
    assert isinstance(decode(data), Event)


def test_a_repeated_key_counts_once_the_last_one_wins() -> None:
    # Valid by the contract; the typed decoder refuses a repeated "type", the slow path
    # parses it (the last value wins, as JSON parsers commonly do) and accepts.
    data = b'{"event_id":"e","type":"survey.nps","ts":0,"customer_id":"c","score":3,"type":"customer.active"}'
    event = decode(data)
    assert isinstance(event, Event) and event.type == "customer.active"
    assert event.body.customer_id == "c"


@pytest.mark.parametrize(
    "data",
    [
        b'{"event_id":"e2","ts":1,"type":"customer.active","customer_id":"c\xff"}',  # a field the type uses
        b'{"event_id":"e2","ts":1,"type":"customer.active","customer_id":"c\xed\xa0\x80"}',  # an encoded surrogate
        b'{"event_id":"e","ts":1,"type":"customer.active","customer_id":"c","x\xff":1}',  # an unknown key
        b'{"event_id":"e","ts":1,"type":"customer.active","customer_id":"c","x":"\xff"}',  # an ignored value
        b'{"event_id":"e\xff","ts":1,"type":"customer.active","customer_id":"c"}',
    ],
)
def test_invalid_utf8_anywhere_is_invalid_json(data: bytes) -> None:
    result = decode(data)
    assert isinstance(result, Rejected) and result.reason == contract.INVALID_JSON, result


def test_non_ascii_utf8_is_fine() -> None:
    event = decode('{"event_id":"é","ts":1,"type":"feature.used","customer_id":"c","feature":"Übersicht","x":"日本"}'.encode())
    assert isinstance(event, Event) and event.body.feature == "Übersicht"


def test_a_huge_number_in_an_ignored_field_is_skipped() -> None:
    # Documented in docs/events.md: valid JSON, a field the type does not use.
    assert isinstance(decode(b'{"event_id":"e","ts":1,"type":"customer.active","customer_id":"c","x":1e400}'), Event)
