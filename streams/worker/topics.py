"""Topic administration: create topics idempotently, and the worker's two internal topics.

The local stack (streams/stack/topics.py) creates the project's input topics with the same
`ensure_topics_async`; it lives here so that the production worker does not import the
local-stack launcher.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the local stack imports this module: keep its imports to the stdlib
    from streams.settings import Settings

_TOPIC_ALREADY_EXISTS = 36  # Kafka protocol error code


class TopicAdminError(RuntimeError):
    """The broker refused to create a topic (the message names each topic and its error)."""


@dataclass(frozen=True)
class TopicSpec:
    """A topic to create: its name, partition count (>= 1), replication factor (>= 1) and
    topic configs (e.g. {"cleanup.policy": "compact"}). Raises ValueError otherwise."""

    name: str
    partitions: int
    replication_factor: int = 1
    config: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.partitions < 1:
            raise ValueError(f"topic {self.name!r}: partitions must be >= 1, got {self.partitions}")
        if self.replication_factor < 1:
            raise ValueError(f"topic {self.name!r}: replication_factor must be >= 1")


async def ensure_topics_async(
    bootstrap_servers: str,
    topics: Sequence[TopicSpec],
    *,
    timeout_seconds: float = 30.0,
    client_kwargs: Mapping[str, Any] | None = None,
) -> list[str]:
    """Create missing topics; return the names created. Existing topics are left as they are.

    `client_kwargs`: aiokafka connection settings (security), bootstrap included.
    Raises TopicAdminError when the broker refuses a topic, and aiokafka's errors when it
    cannot be reached.
    """
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    timeout_ms = int(timeout_seconds * 1000)
    kwargs = dict(client_kwargs or {"bootstrap_servers": bootstrap_servers})
    admin = AIOKafkaAdminClient(request_timeout_ms=timeout_ms, **kwargs)
    try:
        await admin.start()
        response = await admin.create_topics(
            [
                NewTopic(t.name, t.partitions, t.replication_factor, topic_configs=dict(t.config))
                for t in topics
            ],
            timeout_ms=timeout_ms,
        )
    finally:
        await admin.close()
    created: list[str] = []
    failures: list[str] = []
    for error in response.to_object()["topic_errors"]:
        if error["error_code"] == 0:
            created.append(error["topic"])
        elif error["error_code"] != _TOPIC_ALREADY_EXISTS:
            failures.append(f"{error['topic']}: error {error['error_code']} {error['error_message'] or ''}".strip())
    if failures:
        raise TopicAdminError(f"creating topics on {bootstrap_servers} failed: " + "; ".join(failures))
    return created


def internal_topics(settings: Settings) -> list[TopicSpec]:
    """The checkpoint topic (compacted) and the partials topic (5 minutes' retention), one partition each."""
    max_bytes = str(settings.state.max_checkpoint_bytes)
    rf = settings.state.replication_factor
    return [
        TopicSpec(
            settings.checkpoint_topic(), 1, rf,
            # Short segments and a compaction deadline keep the superseded checkpoints that a
            # restore must read past to a few minutes' worth.
            {
                "cleanup.policy": "compact", "max.message.bytes": max_bytes, "segment.ms": "60000",
                "max.compaction.lag.ms": "300000", "min.cleanable.dirty.ratio": "0.1",
            },
        ),
        # Partials are only read live; a few minutes of them is plenty.
        TopicSpec(settings.partials_topic(), 1, rf, {"retention.ms": "300000", "segment.ms": "60000", "max.message.bytes": max_bytes}),
    ]


async def ensure_internal_topics(settings: Settings, timeout_seconds: float = 30.0) -> list[str]:
    """Create the internal topics that are missing; return the names created. Raises as `ensure_topics_async`."""
    from streams.worker.clients import client_kwargs

    return await ensure_topics_async(
        settings.kafka.bootstrap_servers, internal_topics(settings), timeout_seconds=timeout_seconds, client_kwargs=client_kwargs(settings),
    )
