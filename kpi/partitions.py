"""Which partition of N an event belongs to: its topic's message key, hashed.

Producers key tickets by ticket_id and every other topic by customer_id (docs/events.md),
so a partition holds whole tickets and whole customers and the aggregates of partitions
merge exactly (`kpi.merge`). `kpi-monitor replay --jobs N` splits a file the same way.
"""

from __future__ import annotations

from kpi.contract import SCHEMAS, TOPIC_KEYS

# event type -> the field that is its message key
KEY_FIELDS = {etype: TOPIC_KEYS[topic] for etype, (topic, _, _) in SCHEMAS.items()}


def partition_of(obj: object, partitions: int) -> int:
    """The partition of a parsed event. Anything without a usable key goes to partition 0,
    which rejects it like any other: a bad event is never dropped for lack of a key."""
    if partitions == 1 or type(obj) is not dict:
        return 0
    etype = obj.get("type")
    field = KEY_FIELDS.get(etype) if type(etype) is str else None  # a list or dict type is unhashable
    key = obj.get(field) if field is not None else None
    if type(key) is not str:
        return 0
    # hash() is salted per interpreter, so this routing is consistent only among processes
    # forked from one parent (as the parallel replay's are). It is used for its speed: the
    # engine hashes the key anyway and a str caches its hash, where a stable hash such as
    # xxh64 cost as much as a third of the parse per event.
    return hash(key) % partitions
