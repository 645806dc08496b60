"""Which partition of N an event belongs to: Kafka's default partitioner on its message key.

Producers key tickets by ticket_id and every other topic by customer_id (docs/events.md),
so a partition holds whole tickets and whole customers and the aggregates of partitions
merge exactly (`kpi.merge`). `kpi-monitor replay --jobs N` splits a file the same way, and
because the hash is Kafka's (not Python's salted `hash()`), a key lands in the partition
a Kafka producer would have written it to, in every process and on every run.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any, Final

from kpi.contract import SCHEMAS, STRUCTS, TOPIC_KEYS

if TYPE_CHECKING:
    # mypyc compiles i64 to machine integers (a tenth of the instructions of Python ints
    # here); annotations only, so running uncompiled needs no mypy_extensions.
    from mypy_extensions import i64

# event type -> the field that is its message key
KEY_FIELDS = {etype: TOPIC_KEYS[topic] for etype, (topic, _, _) in SCHEMAS.items()}
_TICKET_STRUCTS = frozenset(STRUCTS[etype] for etype, field in KEY_FIELDS.items() if field == "ticket_id")

# Constants of Kafka's org.apache.kafka.common.utils.Utils.murmur2 (Austin Appleby's MurmurHash2
# with Kafka's fixed seed). No maintained C library exposes this variant (the mmh3/xxhash
# packages are MurmurHash3 and xxHash), so it is written out here; the key cache below makes
# its cost per event that of a dict lookup.
_SEED: Final = 0x9747B28C
_M: Final = 0x5BD1E995
_MASK: Final = 0xFFFFFFFF
# Distinct keys remembered: the tickets and customers active in a stretch of a stream.
KEY_CACHE_SIZE = 1 << 16


def murmur2(data: bytes) -> int:
    """Kafka's murmur2 of `data`, as Java's signed 32-bit int (-2**31 .. 2**31-1).

    Equals `org.apache.kafka.common.utils.Utils.murmur2` (tested on the vectors of Kafka's
    UtilsTest.testMurmur2) and, modulo 2**32, aiokafka's `aiokafka.partitioner.murmur2`.
    """
    # Every product is below 2**63 (a 32-bit word times a 31-bit constant), so masking after
    # each one gives Java's wrapping int arithmetic in i64 and in Python ints alike.
    length: i64 = len(data)
    h: i64 = (_SEED ^ length) & _MASK
    tail: i64 = length & ~3
    i: i64 = 0
    while i < tail:
        k: i64 = data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24)
        k = (k * _M) & _MASK
        k ^= k >> 24
        k = (k * _M) & _MASK
        h = ((h * _M) & _MASK) ^ k
        i += 4
    rest: i64 = length & 3
    if rest == 3:
        h ^= data[tail + 2] << 16
    if rest >= 2:
        h ^= data[tail + 1] << 8
    if rest >= 1:
        h ^= data[tail]
        h = (h * _M) & _MASK
    h ^= h >> 13
    h = (h * _M) & _MASK
    h ^= h >> 15
    return h - (1 << 32) if h & 0x80000000 else h


@lru_cache(maxsize=KEY_CACHE_SIZE)
def _positive_hash(key: str) -> int:
    # Java's String.getBytes(UTF_8), as Kafka's StringSerializer calls it, writes "?" for an
    # unpaired surrogate; Python's "replace" does the same (the JSON decoders reject them anyway).
    # Kafka's Utils.toPositive keeps the low 31 bits; abs() would differ for negative hashes.
    return murmur2(key.encode("utf-8", "replace")) & 0x7FFFFFFF


def partition_for_key(key: str, partitions: int) -> int:
    """The partition (0 .. partitions-1) Kafka's default partitioner gives a record keyed `key`.

    `toPositive(murmur2(utf8(key))) % partitions`, as the Java producer's BuiltInPartitioner
    (and DefaultPartitioner before it) and aiokafka's DefaultPartitioner compute it for a
    non-null key; Kafka's StringSerializer writes the key as UTF-8. `partitions` must be >= 1.
    """
    return _positive_hash(key) % partitions


def partition_of(typed: Any, partitions: int) -> int:
    """The partition of a decoded event (a `kpi.contract.STRUCTS` instance): its key's Kafka partition."""
    if partitions == 1:
        return 0
    key = typed.ticket_id if type(typed) in _TICKET_STRUCTS else typed.customer_id
    return partition_for_key(key, partitions)
