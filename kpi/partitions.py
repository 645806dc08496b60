"""Which partition of N an event belongs to: its topic's message key, hashed.

Producers key tickets by ticket_id and every other topic by customer_id (docs/events.md),
so a partition holds whole tickets and whole customers and the aggregates of partitions
merge exactly (`kpi.merge`). `kpi-monitor replay --jobs N` splits a file the same way.
"""

from __future__ import annotations

from typing import Any

from kpi.contract import SCHEMAS, STRUCTS, TOPIC_KEYS

# event type -> the field that is its message key
KEY_FIELDS = {etype: TOPIC_KEYS[topic] for etype, (topic, _, _) in SCHEMAS.items()}
_TICKET_STRUCTS = frozenset(STRUCTS[etype] for etype, field in KEY_FIELDS.items() if field == "ticket_id")


def partition_of(typed: Any, partitions: int) -> int:
    """The partition of a decoded event (a `kpi.contract.STRUCTS` instance).

    hash() is salted per interpreter, so this routing is consistent only among processes
    forked from one parent (as the parallel replay's are). It is used for its speed: the
    engine hashes the key anyway and a str caches its hash, where a stable hash such as
    xxh64 cost as much as a third of the parse per event.
    """
    if partitions == 1:
        return 0
    key = typed.ticket_id if type(typed) in _TICKET_STRUCTS else typed.customer_id
    return hash(key) % partitions
