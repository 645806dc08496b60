"""The project's Kafka topics, created idempotently.

Input topics carry the events of one entity each (kpi.contract.SCHEMAS); the dead-letter
topic receives events that fail to decode or validate. Partition counts are the unit of consumer
parallelism: 4 lets a few workers share the load; the dead-letter topic is
low-volume and read in order, so it has 1.
"""

from __future__ import annotations

from collections.abc import Sequence

from kpi.contract import TOPICS
from streams.settings import DEFAULT_DEAD_LETTER_TOPIC
from streams.stack.aio import run_sync
from streams.stack.errors import StackError
from streams.worker.topics import TopicAdminError, TopicSpec, ensure_topics_async

__all__ = ["TopicSpec", "count_records", "count_records_async", "default_topics", "ensure_topics", "ensure_topics_async"]

# The input topics are the event contract's; the dead-letter topic is the worker's default.
INPUT_TOPICS = TOPICS
DEAD_LETTER_TOPIC = DEFAULT_DEAD_LETTER_TOPIC

DEFAULT_PARTITIONS = 4
DEFAULT_DEAD_LETTER_PARTITIONS = 1


def default_topics(
    partitions: int = DEFAULT_PARTITIONS,
    dead_letter_partitions: int = DEFAULT_DEAD_LETTER_PARTITIONS,
) -> tuple[TopicSpec, ...]:
    """The topics the local stack creates: every input topic of the event contract with
    `partitions` partitions, and the dead-letter topic with `dead_letter_partitions`."""
    return (
        *(TopicSpec(name, partitions) for name in INPUT_TOPICS),
        TopicSpec(DEAD_LETTER_TOPIC, dead_letter_partitions),
    )


def ensure_topics(
    bootstrap_servers: str,
    topics: Sequence[TopicSpec] | None = None,
    *,
    timeout_seconds: float = 30.0,
) -> list[str]:
    """Synchronous `ensure_topics_async`; `topics` defaults to `default_topics()`."""
    specs = default_topics() if topics is None else topics
    try:
        return run_sync(lambda: ensure_topics_async(bootstrap_servers, specs, timeout_seconds=timeout_seconds))
    except StackError:
        raise
    except TopicAdminError as exc:
        raise StackError(str(exc)) from exc
    except Exception as exc:
        raise StackError(f"could not create topics on {bootstrap_servers}: {type(exc).__name__}: {exc}") from exc


async def count_records_async(bootstrap_servers: str, topics: Sequence[str], timeout_seconds: float = 30.0) -> int:
    """Records the `topics` hold now (end minus beginning offsets over every partition); 0 if none exist."""
    from aiokafka import AIOKafkaConsumer, TopicPartition
    from aiokafka.admin import AIOKafkaAdminClient

    timeout_ms = int(timeout_seconds * 1000)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, request_timeout_ms=timeout_ms)
    try:
        await admin.start()
        described = await admin.describe_topics(list(topics))
    finally:
        await admin.close()
    partitions = [
        TopicPartition(topic["topic"], p["partition"])
        for topic in described if topic["error_code"] == 0 for p in topic["partitions"]
    ]
    if not partitions:
        return 0
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers, request_timeout_ms=timeout_ms)
    await consumer.start()
    try:
        begin = await consumer.beginning_offsets(partitions)
        end = await consumer.end_offsets(partitions)
        return sum(end[tp] - begin[tp] for tp in partitions)
    finally:
        await consumer.stop()


def count_records(bootstrap_servers: str, topics: Sequence[str] = INPUT_TOPICS, timeout_seconds: float = 30.0) -> int:
    """Synchronous `count_records_async`, the input topics by default; StackError when it cannot."""
    try:
        return run_sync(lambda: count_records_async(bootstrap_servers, topics, timeout_seconds))
    except Exception as exc:
        raise StackError(f"could not read the offsets of {', '.join(topics)} on {bootstrap_servers}: "
                         f"{type(exc).__name__}: {exc}") from exc
