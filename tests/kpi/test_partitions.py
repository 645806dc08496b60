"""Routing of events to partitions: the Kafka message key of each topic, Kafka's murmur2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kpi.contract import Decoder
from kpi.partitions import KEY_FIELDS, murmur2, partition_for_key
from kpi.partitions import partition_of as route

from .kpi_testkit import DAY0, created, ev, nps, resolved


def partition_of(event: dict, n: int) -> int:
    typed = Decoder.typed(json.dumps(event).encode())
    assert typed is not None, event
    return route(typed, n)


def test_every_type_is_keyed_like_its_topic() -> None:
    # docs/events.md: tickets by ticket_id, surveys, orders and customers by customer_id.
    assert {t: f for t, f in KEY_FIELDS.items() if f == "ticket_id"} == {
        t: "ticket_id" for t in ("ticket.created", "ticket.agent_replied", "ticket.customer_replied",
                                 "ticket.reopened", "ticket.resolved")
    }
    assert all(f == "customer_id" for t, f in KEY_FIELDS.items() if not t.startswith("ticket."))


def test_one_entity_stays_in_one_partition() -> None:
    # A ticket's lifecycle is keyed by ticket_id, not by the customer it belongs to.
    for n in (2, 3, 7):
        tickets = {partition_of(created(f"t{i}", DAY0, customer=f"c{i}"), n) == partition_of(resolved(f"t{i}", DAY0 + 60), n)
                   for i in range(200)}
        assert tickets == {True}
        # A survey carrying a ticket_id is still the customer's.
        surveys = {partition_of(nps(9, DAY0, customer=f"c{i}", ticket_id=f"t{i}"), n)
                   == partition_of(ev("customer.active", DAY0, customer_id=f"c{i}"), n) for i in range(200)}
        assert surveys == {True}


def test_events_spread_over_the_partitions() -> None:
    counts = [0, 0, 0]
    for i in range(3000):
        counts[partition_of(ev("customer.active", DAY0, customer_id=f"cu-{i}"), 3)] += 1
    assert min(counts) > 800, counts


def test_one_partition_takes_everything() -> None:
    assert partition_of(nps(9, DAY0, customer="c9"), 1) == 0


# Kafka's own vectors, as Java's signed ints: org.apache.kafka.common.utils.UtilsTest.testMurmur2
# (clients/src/test/java/org/apache/kafka/common/utils/UtilsTest.java; read in the aiven/kafka
# fork of apache/kafka at commit 0c8ca3c54b2fc31b14b5aeb78a93a037c9116ecb).
KAFKA_MURMUR2 = [
    (b"21", -973932308),
    (b"foobar", -790332482),
    (b"a-little-bit-long-string", -985981536),
    (b"a-little-bit-longer-string", -1486304829),
    (b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971),
    (b"abc", 479470107),
]


@pytest.mark.parametrize(("data", "expected"), KAFKA_MURMUR2, ids=[d.decode() for d, _ in KAFKA_MURMUR2])
def test_murmur2_gives_kafkas_values(data: bytes, expected: int) -> None:
    assert murmur2(data) == expected


def test_the_partition_is_kafkas_to_positive_modulo_the_count() -> None:
    # toPositive keeps the low 31 bits: -973932308 + 2**31 = 1173551340 = 7 * 167650191 + 3,
    # and -790332482 + 2**31 = 1357151166, whose digits sum to 36, so 0 mod 3. 479470107 is
    # already positive: 479470107 = 4 * 119867526 + 3.
    assert partition_for_key("21", 7) == 3
    assert partition_for_key("foobar", 3) == 0
    assert partition_for_key("abc", 4) == 3
    assert {partition_for_key(k.decode(), 1) for k, _ in KAFKA_MURMUR2} == {0}


def test_a_non_ascii_key_is_hashed_as_its_utf8_bytes() -> None:
    # Kafka's StringSerializer writes UTF-8: the partition of "é" is that of b"\xc3\xa9".
    assert partition_for_key("é", 1 << 30) == (murmur2(b"\xc3\xa9") & 0x7FFFFFFF) % (1 << 30)


def test_routing_is_the_same_in_every_interpreter() -> None:
    # Issue 14: with Python's salted hash(), `replay --jobs 2` gave different numbers run to run.
    # Two interpreters with different hash seeds must route every key alike.
    code = "from kpi.partitions import partition_for_key as p; print([p(f'cu-{i}', 7) for i in range(300)])"
    root = Path(__file__).resolve().parents[2]
    outputs = {
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60, cwd=root,
                       env={**os.environ, "PYTHONPATH": str(root), "PYTHONHASHSEED": seed}).stdout
        for seed in ("1", "2")
    }
    assert len(outputs) == 1
    assert json.loads(outputs.pop()) == [partition_for_key(f"cu-{i}", 7) for i in range(300)]
