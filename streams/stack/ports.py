"""Loopback ports: pick free ones, and refuse to start on taken ones."""

from __future__ import annotations

import socket
from collections.abc import Iterable
from dataclasses import dataclass

import psutil

from streams.stack.errors import PortInUseError

LOOPBACK_HOST = "127.0.0.1"


@dataclass(frozen=True)
class PortClaim:
    """A port some component is about to listen on, and how a person changes it."""

    port: int
    purpose: str  # e.g. "Kafka PLAINTEXT listener"
    override_hint: str  # e.g. "--kafka-port or KPI_STACK_KAFKA_PORT"
    host: str = LOOPBACK_HOST


def free_port(host: str = LOOPBACK_HOST) -> int:
    """A port the kernel considers free right now (tiny race until it's bound)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_is_free(port: int, host: str = LOOPBACK_HOST) -> bool:
    """Whether a listener could bind `host`:`port` now (with SO_REUSEADDR, as the servers bind: a
    port in TIME_WAIT is free, a live listener even on 0.0.0.0 is not)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # Same option the servers use, so a port in TIME_WAIT after a restart
        # counts as free while a live listener (even on 0.0.0.0) does not.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def port_owner(port: int) -> str | None:
    """'pid 123 (java)' for the process listening on `port`, if we may see it."""
    try:
        connections = psutil.net_connections(kind="tcp")
    except (psutil.AccessDenied, PermissionError):
        return None
    for conn in connections:
        if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port:
            if conn.pid is None:
                return None
            try:
                name = psutil.Process(conn.pid).name()
            except psutil.Error:
                name = "?"
            return f"pid {conn.pid} ({name})"
    return None


def ensure_ports_free(claims: Iterable[PortClaim]) -> None:
    """Raise one PortInUseError naming every conflict, before anything starts."""
    claims = list(claims)
    problems: list[str] = []
    seen: dict[int, PortClaim] = {}
    for claim in claims:
        if claim.port in seen:
            other = seen[claim.port]
            problems.append(
                f"port {claim.port} is configured for both {other.purpose} and {claim.purpose}; "
                f"change one ({claim.override_hint})"
            )
            continue
        seen[claim.port] = claim
        if not port_is_free(claim.port, claim.host):
            owner = port_owner(claim.port)
            by = f" by {owner}" if owner else ""
            problems.append(
                f"port {claim.port} on {claim.host} ({claim.purpose}) is already in use{by}; "
                f"stop that process or choose another port with {claim.override_hint}"
            )
    if problems:
        raise PortInUseError("\n".join(problems))


def tcp_port_open(port: int, host: str = LOOPBACK_HOST, timeout_seconds: float = 0.5) -> bool:
    """Whether something accepts a TCP connection on `host`:`port` within `timeout_seconds`."""
    try:
        with socket.create_connection((host, port), timeout=timeout_seconds):
            return True
    except OSError:
        return False

