"""The project's Kafka topics, created idempotently.

Input topics carry one event type each; the dead-letter topic receives events
that fail to decode or validate. Partition counts are the unit of consumer
parallelism: 4 lets a few workers share the load; the dead-letter topic is
low-volume and read in order, so it has 1.
"""

from __future__ import annotations

from collections.abc import Sequence

from streams.stack.aio import run_sync
from streams.stack.errors import StackError
from streams.worker.topics import TopicAdminError, TopicSpec, ensure_topics_async

__all__ = ["TopicSpec", "default_topics", "ensure_topics", "ensure_topics_async"]

TICKETS_TOPIC = "tickets"
SURVEYS_TOPIC = "surveys"
ORDERS_TOPIC = "orders"
CUSTOMERS_TOPIC = "customers"
DEAD_LETTER_TOPIC = "kpi-dead-letter"
INPUT_TOPICS = (TICKETS_TOPIC, SURVEYS_TOPIC, ORDERS_TOPIC, CUSTOMERS_TOPIC)

DEFAULT_PARTITIONS = 4
DEFAULT_DEAD_LETTER_PARTITIONS = 1


def default_topics(
    partitions: int = DEFAULT_PARTITIONS,
    dead_letter_partitions: int = DEFAULT_DEAD_LETTER_PARTITIONS,
) -> tuple[TopicSpec, ...]:
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
