from __future__ import annotations

import asyncio
import uuid

import pytest

from streams.stack.kafka import KafkaNode
from streams.stack.topics import DEAD_LETTER_TOPIC, TopicSpec, count_records, default_topics, ensure_topics


def test_default_topics() -> None:
    assert [(t.name, t.partitions) for t in default_topics()] == [
        ("tickets", 4),
        ("surveys", 4),
        ("orders", 4),
        ("customers", 4),
        ("kpi-dead-letter", 1),
    ]
    assert {t.partitions for t in default_topics(partitions=8, dead_letter_partitions=2)} == {8, 2}


def test_topic_spec_rejects_zero_partitions() -> None:
    with pytest.raises(ValueError, match="partitions must be >= 1"):
        TopicSpec("x", 0)


async def _partition_counts(bootstrap_servers: str) -> dict[str, int]:
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        described = await admin.describe_topics([t.name for t in default_topics()])
    finally:
        await admin.close()
    return {topic["topic"]: len(topic["partitions"]) for topic in described}


@pytest.mark.integration
def test_session_broker_has_the_project_topics(kafka: KafkaNode) -> None:
    counts = asyncio.run(_partition_counts(kafka.bootstrap_servers))
    assert counts == {"tickets": 4, "surveys": 4, "orders": 4, "customers": 4, DEAD_LETTER_TOPIC: 1}


@pytest.mark.integration
def test_ensure_topics_is_idempotent(kafka: KafkaNode) -> None:
    spec = TopicSpec(f"idempotent-{uuid.uuid4().hex[:8]}", 2)
    assert ensure_topics(kafka.bootstrap_servers, [spec]) == [spec.name]
    assert ensure_topics(kafka.bootstrap_servers, [spec]) == []
    assert ensure_topics(kafka.bootstrap_servers) == []  # defaults already exist


@pytest.mark.integration
def test_count_records_counts_what_the_topics_hold(kafka: KafkaNode) -> None:
    from aiokafka import AIOKafkaProducer

    empty = TopicSpec(f"count-empty-{uuid.uuid4().hex[:8]}", 2)
    full = TopicSpec(f"count-full-{uuid.uuid4().hex[:8]}", 3)
    ensure_topics(kafka.bootstrap_servers, [empty, full])

    async def produce() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap_servers)
        await producer.start()
        try:
            for i in range(7):  # spread over the 3 partitions by key
                await producer.send_and_wait(full.name, b"x", key=str(i).encode())
        finally:
            await producer.stop()

    asyncio.run(produce())
    assert count_records(kafka.bootstrap_servers, [empty.name]) == 0
    assert count_records(kafka.bootstrap_servers, [empty.name, full.name]) == 7
    assert count_records(kafka.bootstrap_servers, ["no-such-topic"]) == 0
