"""Where each event type goes: logical topic and the field used as message key
(event contract v1).

Logical topic names are mapped to real Kafka topic names by `TopicNames`, so
a prefix or per-topic override never reaches the simulation.
"""

from __future__ import annotations

from dataclasses import dataclass

from kpi.contract import SCHEMAS, TOPIC_KEYS, TOPICS

# The event contract defines the topics (kpi.contract.TOPICS, in this order); the
# simulation names them by role.
LOGICAL_TOPICS = TOPICS
TICKETS, SURVEYS, ORDERS, CUSTOMERS = TOPICS

# type -> (logical topic, key field), as the event contract routes and keys each type.
ROUTES: dict[str, tuple[str, str]] = {etype: (topic, TOPIC_KEYS[topic]) for etype, (topic, _, _) in SCHEMAS.items()}


@dataclass(frozen=True)
class TopicNames:
    """Real Kafka topic name for each logical topic."""

    tickets: str = TICKETS
    surveys: str = SURVEYS
    orders: str = ORDERS
    customers: str = CUSTOMERS

    @classmethod
    def with_prefix(cls, prefix: str, **overrides: str | None) -> TopicNames:
        """`prefix` + default name, unless a per-topic override is given."""
        names = {t: overrides.get(t) or f"{prefix}{t}" for t in LOGICAL_TOPICS}
        return cls(**names)

    def resolve(self, logical_topic: str) -> str:
        """The Kafka topic name of `logical_topic` (one of `LOGICAL_TOPICS`). Raises
        AttributeError for any other name."""
        return getattr(self, logical_topic)

    def as_dict(self) -> dict[str, str]:
        """Logical topic -> Kafka topic name, for every topic of the contract (in
        `LOGICAL_TOPICS` order)."""
        return {t: self.resolve(t) for t in LOGICAL_TOPICS}
