from __future__ import annotations

import socket

import pytest

from streams.stack.errors import PortInUseError
from streams.stack.ports import PortClaim, ensure_ports_free, free_port, port_is_free


def test_free_port_is_free() -> None:
    assert port_is_free(free_port())


def test_taken_port_is_reported_with_the_override() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        assert not port_is_free(port)
        with pytest.raises(PortInUseError) as excinfo:
            ensure_ports_free([PortClaim(port, "Kafka PLAINTEXT listener", "--kafka-port or KPI_STACK_KAFKA_PORT")])
    message = str(excinfo.value)
    assert f"port {port} on 127.0.0.1 (Kafka PLAINTEXT listener) is already in use" in message
    assert "--kafka-port or KPI_STACK_KAFKA_PORT" in message
    assert "python" in message  # the owner, found with psutil


def test_a_listener_on_all_interfaces_also_blocks_loopback() -> None:
    with socket.socket() as sock:
        sock.bind(("0.0.0.0", 0))
        sock.listen()
        assert not port_is_free(sock.getsockname()[1])


def test_one_port_for_two_components_is_reported() -> None:
    port = free_port()
    with pytest.raises(PortInUseError, match=f"port {port} is configured for both A and B"):
        ensure_ports_free([PortClaim(port, "A", "--a"), PortClaim(port, "B", "--b")])
