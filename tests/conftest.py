"""Shared fixtures: the real local stack, started lazily, once where possible.

- `kafka` (session): one KRaft broker for the whole run, own data dir and free
  ports, project topics created. It is a `streams.stack.KafkaNode`: use
  `.bootstrap_servers`; crash tests may `.kill()` / `.restart()` it but must
  leave it running (restart in a `finally`).
- `prometheus_factory(scrape_targets=..., **PrometheusServer kwargs)` starts a
  Prometheus (scrape every 1 s by default); all are stopped after the test.
  `prometheus` is one with no targets, or with `request.param` kwargs when
  parametrized indirectly.
- `alertmanager_factory(webhook_url=..., **AlertmanagerServer kwargs)` likewise,
  grouping waits shortened to 1 s.
- `webhook`: a local receiver for Alertmanager's notifications, (url, queue of payloads).

A component that cannot start (no java, no mvn, no prometheus binary, port
clash, broker crash) FAILS the tests that need it, with the stack's message.
They are never skipped: a skipped integration test would read as a pass.

The session refuses to start while a compiled `kpi/*.so` is older than its source, or a
mypyc runtime (`*__mypyc*.so` at the root) is left over from an earlier build
(tests/compiled_kpi.py); the header says whether kpi runs compiled or as pure Python.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path
from queue import Queue
from typing import Any, TypeVar

import pytest

import kpi
from streams.stack.alertmanager import AlertmanagerServer
from streams.stack.errors import StackError
from streams.stack.kafka import KafkaNode
from streams.stack.prometheus import PrometheusServer
from streams.stack.topics import default_topics, ensure_topics
from tests.compiled_kpi import message, stale_compiled_modules

T = TypeVar("T")

TEST_SCRAPE_INTERVAL_SECONDS = 1.0


def pytest_configure(config: pytest.Config) -> None:
    # Compiled kpi modules older than their sources would run instead of the code under test.
    if os.environ.get(kpi.PURE_PYTHON_ENV) != "1":
        problems = stale_compiled_modules(Path(kpi.__file__).parent, kpi.COMPILED_MODULES)
        if problems:
            raise pytest.UsageError(message(problems))


def pytest_report_header(config: pytest.Config) -> str:
    import kpi.engine

    compiled = str(kpi.engine.__file__).endswith(tuple(EXTENSION_SUFFIXES))
    return f"kpi: {'compiled with mypyc' if compiled else 'pure Python'}"


def _start_or_fail(what: str, start: Callable[[], T]) -> T:
    try:
        return start()
    except StackError as exc:
        pytest.fail(f"{what} could not start for the tests:\n{exc}", pytrace=False)


@pytest.fixture(scope="session")
def kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaNode]:
    node = KafkaNode(tmp_path_factory.mktemp("kafka"), ready_timeout_seconds=120.0)

    def start() -> KafkaNode:
        node.start()
        ensure_topics(node.bootstrap_servers, default_topics())
        return node

    try:
        yield _start_or_fail("the test Kafka broker", start)
    finally:
        node.stop()


@pytest.fixture
def prometheus_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., PrometheusServer]]:
    servers: list[PrometheusServer] = []

    def factory(scrape_targets: tuple[str, ...] | list[str] = (), **kwargs: Any) -> PrometheusServer:
        kwargs.setdefault("scrape_interval_seconds", TEST_SCRAPE_INTERVAL_SECONDS)
        base_dir: Path = kwargs.pop("base_dir", None) or tmp_path_factory.mktemp("prometheus")

        def start() -> PrometheusServer:
            server = PrometheusServer(base_dir, scrape_targets=scrape_targets, **kwargs)
            servers.append(server)
            server.start()
            return server

        return _start_or_fail("Prometheus", start)

    yield factory
    for server in reversed(servers):
        server.stop()


@pytest.fixture
def prometheus(request: pytest.FixtureRequest, prometheus_factory: Callable[..., PrometheusServer]) -> PrometheusServer:
    return prometheus_factory(**getattr(request, "param", {}))


@pytest.fixture
def alertmanager_factory(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Callable[..., AlertmanagerServer]]:
    servers: list[AlertmanagerServer] = []

    def factory(**kwargs: Any) -> AlertmanagerServer:
        kwargs.setdefault("group_wait_seconds", 1.0)
        kwargs.setdefault("group_interval_seconds", 1.0)
        kwargs.setdefault("repeat_interval_seconds", 60.0)
        base_dir: Path = kwargs.pop("base_dir", None) or tmp_path_factory.mktemp("alertmanager")

        def start() -> AlertmanagerServer:
            server = AlertmanagerServer(base_dir, **kwargs)
            servers.append(server)
            server.start()
            return server

        return _start_or_fail("Alertmanager", start)

    yield factory
    for server in reversed(servers):
        server.stop()


@pytest.fixture
def webhook() -> Iterator[tuple[str, Queue[dict]]]:
    """A local HTTP endpoint that records what Alertmanager posts: (url, queue of payloads)."""
    received: Queue[dict] = Queue()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            received.put(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/alerts", received
    server.shutdown()
    thread.join(5)
