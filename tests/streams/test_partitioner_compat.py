"""Replay's partitioner agrees with the one the producers use: aiokafka's DefaultPartitioner."""

from __future__ import annotations

from aiokafka.partitioner import DefaultPartitioner
from aiokafka.partitioner import murmur2 as aiokafka_murmur2
from hypothesis import given
from hypothesis import strategies as st

from kpi.partitions import murmur2, partition_for_key


@given(key=st.text(max_size=80), partitions=st.integers(min_value=1, max_value=1024))
def test_partition_for_key_equals_aiokafkas_default_partitioner(key: str, partitions: int) -> None:
    # The generator's producer sends key=str.encode() (streams/generator/faults.py) through
    # aiokafka's DefaultPartitioner; replay must put that key in the same partition.
    all_partitions = list(range(partitions))
    assert partition_for_key(key, partitions) == DefaultPartitioner()(key.encode(), all_partitions, all_partitions)


@given(data=st.binary(max_size=80))
def test_murmur2_equals_aiokafkas_as_an_unsigned_word(data: bytes) -> None:
    # aiokafka returns the hash as an unsigned 32-bit value, Java (and kpi.partitions) as signed.
    assert murmur2(data) % (1 << 32) == aiokafka_murmur2(data)
    assert -(1 << 31) <= murmur2(data) < (1 << 31)
