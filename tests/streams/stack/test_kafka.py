from __future__ import annotations

import asyncio
import base64
import fcntl
import time
import uuid
from pathlib import Path

import pytest

from streams.stack.errors import ProcessExitedError, ReadinessTimeoutError, StackError
from streams.stack.java import JavaNotFoundError, find_java
from streams.stack.kafka import KafkaNode, Listener, new_cluster_id, render_server_properties
from streams.stack.topics import INPUT_TOPICS


def _props(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#"))


# -- config rendering (no broker) ------------------------------------------------


def test_single_node_kraft_properties_bind_loopback_only(tmp_path: Path) -> None:
    props = _props(render_server_properties(node_id=3, port=1111, controller_port=2222, data_dir=tmp_path))

    assert props["process.roles"] == "broker,controller"
    assert props["node.id"] == "3"
    assert props["controller.quorum.voters"] == "3@127.0.0.1:2222"
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:1111,CONTROLLER://127.0.0.1:2222"
    assert props["advertised.listeners"] == "PLAINTEXT://127.0.0.1:1111"
    assert props["controller.listener.names"] == "CONTROLLER"
    assert props["listener.security.protocol.map"] == "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"
    assert props["log.dirs"] == str(tmp_path)


def test_internal_topics_fit_one_node_and_groups_join_without_delay(tmp_path: Path) -> None:
    props = _props(render_server_properties(node_id=1, port=1, controller_port=2, data_dir=tmp_path))

    for key in (
        "offsets.topic.replication.factor",
        "transaction.state.log.replication.factor",
        "transaction.state.log.min.isr",
        "share.coordinator.state.topic.replication.factor",
        "share.coordinator.state.topic.min.isr",
    ):
        assert props[key] == "1", key
    assert props["group.initial.rebalance.delay.ms"] == "0"
    assert props["auto.create.topics.enable"] == "false"


def test_extra_tls_listener_gets_its_own_scoped_settings(tmp_path: Path) -> None:
    ssl = Listener("SSL", 3333, "SSL", {"ssl.keystore.location": "/k.jks", "ssl.client.auth": "required"})

    props = _props(
        render_server_properties(node_id=1, port=1111, controller_port=2222, data_dir=tmp_path, extra_listeners=[ssl])
    )

    assert props["listeners"].endswith(",SSL://127.0.0.1:3333")
    assert props["advertised.listeners"] == "PLAINTEXT://127.0.0.1:1111,SSL://127.0.0.1:3333"
    assert "SSL:SSL" in props["listener.security.protocol.map"].split(",")
    assert props["listener.name.ssl.ssl.keystore.location"] == "/k.jks"
    assert props["listener.name.ssl.ssl.client.auth"] == "required"


def test_extra_properties_override_defaults(tmp_path: Path) -> None:
    props = _props(
        render_server_properties(
            node_id=1, port=1, controller_port=2, data_dir=tmp_path, extra_properties={"num.partitions": "8"}
        )
    )
    assert props["num.partitions"] == "8"


def test_duplicate_listener_names_are_rejected(tmp_path: Path) -> None:
    with pytest.raises(StackError, match="unique"):
        render_server_properties(
            node_id=1, port=1, controller_port=2, data_dir=tmp_path, extra_listeners=[Listener("plaintext", 3)]
        )


def test_cluster_id_is_a_base64url_uuid() -> None:
    cluster_id = new_cluster_id()
    assert len(cluster_id) == 22
    assert uuid.UUID(bytes=base64.urlsafe_b64decode(cluster_id + "=="))


def test_cluster_id_never_starts_with_a_dash() -> None:
    # One random id in 64 would, and `kafka-storage format -t -abc...` then fails.
    assert not any(new_cluster_id().startswith("-") for _ in range(2000))


def test_fixed_ports_are_kept_and_free_ports_picked_otherwise(tmp_path: Path) -> None:
    fixed = KafkaNode(tmp_path / "a", port=19999, controller_port=19998)
    picked = KafkaNode(tmp_path / "b")
    assert (fixed.port, fixed.controller_port, fixed.bootstrap_servers) == (19999, 19998, "127.0.0.1:19999")
    assert picked.port != picked.controller_port


def test_missing_java_fails_before_anything_starts(tmp_path: Path) -> None:
    node = KafkaNode(tmp_path, java=str(tmp_path / "no-such-java"))
    started = time.monotonic()
    with pytest.raises(JavaNotFoundError, match="not found"):
        node.start()
    assert time.monotonic() - started < 5
    assert not node.is_running


# -- the real broker ----------------------------------------------------------------


async def _produce_and_consume(bootstrap_servers: str, topic: str, values: list[bytes], group: str) -> list[bytes]:
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers, acks="all")
    await producer.start()
    try:
        for value in values:
            await producer.send_and_wait(topic, value, key=b"k")
    finally:
        await producer.stop()

    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap_servers, group_id=group, auto_offset_reset="earliest"
    )
    await consumer.start()
    received: list[bytes] = []
    try:
        async with asyncio.timeout(30):
            while not set(values) <= set(received):
                batch = await consumer.getmany(timeout_ms=1000)
                received += [record.value for records in batch.values() for record in records]
    finally:
        await consumer.stop()
    return received


@pytest.mark.integration
def test_produce_and_consume_through_the_real_broker(kafka: KafkaNode) -> None:
    values = [f"event-{uuid.uuid4()}".encode() for _ in range(5)]

    received = asyncio.run(_produce_and_consume(kafka.bootstrap_servers, INPUT_TOPICS[0], values, f"g-{uuid.uuid4()}"))

    assert [v for v in received if v in values] == values  # one key: one partition, in order


@pytest.mark.integration
def test_broker_is_reachable_only_on_loopback(kafka: KafkaNode) -> None:
    props = _props(kafka.config_path.read_text())
    hosts = {listener.split("://")[1].rsplit(":", 1)[0] for listener in props["listeners"].split(",")}
    assert hosts == {"127.0.0.1"}
    assert kafka.server_log_path.is_file() and "Kafka Server started" in kafka.server_log_path.read_text()


@pytest.mark.integration
def test_kill_and_restart_keep_data_and_address(kafka: KafkaNode) -> None:
    before = [f"before-crash-{uuid.uuid4()}".encode()]
    asyncio.run(_produce_and_consume(kafka.bootstrap_servers, INPUT_TOPICS[0], before, f"g-{uuid.uuid4()}"))
    old_pid, address, cluster_id = kafka.pid, kafka.bootstrap_servers, kafka.cluster_id
    try:
        kafka.kill()
        assert not kafka.is_running
    finally:
        kafka.start()

    assert kafka.pid != old_pid
    assert (kafka.bootstrap_servers, kafka.cluster_id) == (address, cluster_id)
    received = asyncio.run(_produce_and_consume(kafka.bootstrap_servers, INPUT_TOPICS[0], before, f"g-{uuid.uuid4()}"))
    assert before[0] in received


@pytest.mark.integration
def test_broker_exiting_early_is_reported_with_its_log(tmp_path: Path) -> None:
    # Another process holding the data dir's lock is what a second broker on the
    # same dir looks like; Java's FileChannel.tryLock and lockf are both fcntl locks.
    node = KafkaNode(tmp_path / "locked")
    node.write_config()
    node.format_storage(find_java(), node.resolve_jars())
    with (node.data_dir / ".lock").open("a") as lock:
        fcntl.lockf(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        started = time.monotonic()
        with pytest.raises(ProcessExitedError) as excinfo:
            node.start()
    message = str(excinfo.value)
    assert "exited with code" in message
    assert "Failed to acquire lock" in message
    assert str(node.stdout_log_path) in message
    assert time.monotonic() - started < 60
    assert not node.is_running


@pytest.mark.integration
def test_readiness_timeout_is_reported_and_leaves_no_process(tmp_path: Path) -> None:
    node = KafkaNode(tmp_path / "slow", ready_timeout_seconds=0.2)

    with pytest.raises(ReadinessTimeoutError, match=r"not ready after 0.2 s"):
        node.start()

    assert not node.is_running
    assert node.process is not None and node.process.returncode is not None
