"""A single-node Kafka broker (KRaft, broker+controller in one JVM) on 127.0.0.1.

Layout under `base_dir`:
    config/server.properties   rendered on every start
    data/                      log.dirs: topics and the KRaft metadata log
    logs/server.log            broker log (deploy/kafka/log4j2.xml)
    logs/kafka.out             JVM stdout/stderr: start-up failures land here

TLS hook: pass `extra_listeners=[Listener("SSL", port, "SSL", {...ssl.* settings})]`.
Listener-scoped settings are written as `listener.name.<name>.<key>`, so an SSL
listener with its own keystore needs no change here. Readiness is always checked
on the PLAINTEXT listener, which also carries inter-broker traffic.
"""

from __future__ import annotations

import base64
import subprocess
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from streams.stack.aio import run_sync
from streams.stack.errors import StackError
from streams.stack.jars import DEFAULT_KAFKA_VERSION, resolve_kafka_jars
from streams.stack.java import find_java
from streams.stack.paths import JARS_CACHE_DIR, KAFKA_LOG4J_CONFIG_PATH, KAFKA_POM_PATH
from streams.stack.ports import LOOPBACK_HOST, PortClaim, ensure_ports_free, free_port, tcp_port_open
from streams.stack.process import ManagedProcess, ProcessLifecycle, tail_text
from streams.stack.readiness import wait_ready

DEFAULT_JVM_OPTIONS = (
    "-Xms256m",
    "-Xmx1g",
    "-XX:+UseG1GC",
    "-Djava.awt.headless=true",
)
STORAGE_FORMAT_TIMEOUT_SECONDS = 120.0


@dataclass(frozen=True)
class Listener:
    """An extra broker listener, e.g. `Listener("SSL", 9443, "SSL", {"ssl.keystore.location": ...})`."""

    name: str
    port: int
    security_protocol: str = "PLAINTEXT"
    # Keys without the `listener.name.<name>.` prefix, e.g. "ssl.keystore.location".
    properties: Mapping[str, str] = field(default_factory=dict)
    host: str = LOOPBACK_HOST

    @property
    def address(self) -> str:
        """HOST:PORT of the listener."""
        return f"{self.host}:{self.port}"


def new_cluster_id() -> str:
    """A cluster id as Kafka's `Uuid.randomUuid()` makes it: 16 random bytes, base64url, unpadded.

    Like Kafka, never one that starts with "-" (1 in 64 would): the storage tool's argument
    parser takes `-t -abc...` for an option and fails the format.
    """
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode("ascii")
        if not cluster_id.startswith("-"):
            return cluster_id


def render_server_properties(
    *,
    node_id: int,
    port: int,
    controller_port: int,
    data_dir: Path,
    extra_listeners: Sequence[Listener] = (),
    extra_properties: Mapping[str, str] | None = None,
) -> str:
    """server.properties for a combined broker+controller bound to 127.0.0.1 only."""
    listeners = [
        Listener("PLAINTEXT", port),
        Listener("CONTROLLER", controller_port),
        *extra_listeners,
    ]
    names = [listener.name.upper() for listener in listeners]
    if len(set(names)) != len(names):
        raise StackError(f"listener names must be unique, got {names}")
    advertised = [listener for listener in listeners if listener.name.upper() != "CONTROLLER"]
    props: dict[str, str] = {
        "process.roles": "broker,controller",
        "node.id": str(node_id),
        "controller.quorum.voters": f"{node_id}@{LOOPBACK_HOST}:{controller_port}",
        "listeners": ",".join(f"{l.name.upper()}://{l.address}" for l in listeners),
        "advertised.listeners": ",".join(f"{l.name.upper()}://{l.address}" for l in advertised),
        "listener.security.protocol.map": ",".join(
            f"{l.name.upper()}:{l.security_protocol.upper()}" for l in listeners
        ),
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "log.dirs": str(data_dir),
        "num.partitions": "1",
        "default.replication.factor": "1",
        "min.insync.replicas": "1",
        # One node: every internal topic must fit on it, or it is never created.
        "offsets.topic.replication.factor": "1",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        # Otherwise every consumer-group join waits 3 s for more members.
        "group.initial.rebalance.delay.ms": "0",
        # After a crash (SIGKILL) the restarted broker waits for its previous
        # incarnation's session to expire before it is unfenced: 9 s by default.
        "broker.heartbeat.interval.ms": "500",
        "broker.session.timeout.ms": "3000",
        # Topics are created explicitly (topics.py); a typo must not make a new one.
        "auto.create.topics.enable": "false",
    }
    for listener in extra_listeners:
        prefix = f"listener.name.{listener.name.lower()}."
        for key, value in listener.properties.items():
            props[prefix + key] = value
    props.update(extra_properties or {})
    lines = ["# Rendered by streams/stack/kafka.py on every start; edits are overwritten."]
    lines += [f"{key}={value}" for key, value in props.items()]
    return "\n".join(lines) + "\n"


async def _describe_cluster(bootstrap_servers: str, timeout_seconds: float) -> dict:
    from aiokafka.admin import AIOKafkaAdminClient  # heavy import, only when probing

    timeout_ms = int(timeout_seconds * 1000)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, request_timeout_ms=timeout_ms)
    try:
        await admin.start()
        return await admin.describe_cluster()
    finally:
        await admin.close()


class KafkaNode(ProcessLifecycle):
    """One KRaft broker+controller process with its own data dir and ports.

    Ports left as None are picked free when the node is created and kept for
    its lifetime, so `restart()` comes back on the same address.
    """

    def __init__(
        self,
        base_dir: Path,
        *,
        port: int | None = None,
        controller_port: int | None = None,
        node_id: int = 1,
        cluster_id: str | None = None,
        kafka_version: str = DEFAULT_KAFKA_VERSION,
        jars_cache_dir: Path = JARS_CACHE_DIR,
        pom_path: Path = KAFKA_POM_PATH,
        extra_listeners: Sequence[Listener] = (),
        extra_properties: Mapping[str, str] | None = None,
        java: str | None = None,
        mvn: str | None = None,
        maven_args: Sequence[str] = (),
        jvm_options: Sequence[str] = DEFAULT_JVM_OPTIONS,
        ready_timeout_seconds: float = 60.0,
        stop_timeout_seconds: float = 30.0,
        port_hint: str = "KafkaNode(port=...)",
        controller_port_hint: str = "KafkaNode(controller_port=...)",
    ) -> None:
        self.base_dir = Path(base_dir).resolve()
        self.port = port if port is not None else free_port()
        self.controller_port = controller_port if controller_port is not None else free_port()
        self.node_id = node_id
        self.kafka_version = kafka_version
        self.extra_listeners = tuple(extra_listeners)
        self.extra_properties = dict(extra_properties or {})
        self.jvm_options = tuple(jvm_options)
        self.ready_timeout_seconds = ready_timeout_seconds
        self.stop_timeout_seconds = stop_timeout_seconds
        self._cluster_id = cluster_id
        self._jars_cache_dir = Path(jars_cache_dir)
        self._pom_path = Path(pom_path)
        self._java = java
        self._mvn = mvn
        self._maven_args = tuple(maven_args)
        self._port_hints = (port_hint, controller_port_hint)
        self._process: ManagedProcess | None = None

    # -- where things are -------------------------------------------------

    @property
    def bootstrap_servers(self) -> str:
        """The bootstrap address clients use: HOST:PORT of the PLAINTEXT listener on loopback."""
        return f"{LOOPBACK_HOST}:{self.port}"

    @property
    def config_path(self) -> Path:
        """The broker's server.properties (rewritten at every start)."""
        return self.base_dir / "config" / "server.properties"

    @property
    def data_dir(self) -> Path:
        """The broker's log directory: topic data and the KRaft metadata."""
        return self.base_dir / "data"

    @property
    def logs_dir(self) -> Path:
        """The folder of the broker's own logs."""
        return self.base_dir / "logs"

    @property
    def server_log_path(self) -> Path:
        """The broker's server.log (log4j), where start-up failures show."""
        return self.logs_dir / "server.log"

    @property
    def stdout_log_path(self) -> Path:
        """The file the broker's stdout and stderr go to."""
        return self.logs_dir / "kafka.out"

    @property
    def cluster_id(self) -> str | None:
        """The formatted storage's cluster id, else the one that will be used."""
        meta = self.data_dir / "meta.properties"
        if meta.is_file():
            for line in meta.read_text().splitlines():
                if line.startswith("cluster.id="):
                    return line.split("=", 1)[1].strip()
        return self._cluster_id

    @property
    def pid(self) -> int | None:
        """The pid of the broker while it runs, else None."""
        return self._process.pid if self._process is not None and self._process.is_running else None

    @property
    def process(self) -> ManagedProcess | None:
        """The process this object started (None before `start` or after `detach`)."""
        return self._process

    @property
    def is_running(self) -> bool:
        """Whether the broker process this object started is still running."""
        return self._process is not None and self._process.is_running

    # -- steps ------------------------------------------------------------

    def resolve_jars(self) -> Path:
        """The folder holding the broker's classpath for its Kafka version, resolved with Maven
        once into the jars cache. Raises JarResolutionError (with Maven's output) when that
        fails."""
        return resolve_kafka_jars(
            kafka_version=self.kafka_version,
            cache_dir=self._jars_cache_dir,
            pom_path=self._pom_path,
            mvn=self._mvn,
            maven_args=self._maven_args,
        )

    def write_config(self) -> Path:
        """Write the broker's server.properties (node id, listeners, data folder, extra listeners
        and properties); returns its path."""
        self.config_path.parent.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(
            render_server_properties(
                node_id=self.node_id,
                port=self.port,
                controller_port=self.controller_port,
                data_dir=self.data_dir,
                extra_listeners=self.extra_listeners,
                extra_properties=self.extra_properties,
            )
        )
        return self.config_path

    def _java_argv(self, java: str, libs_dir: Path, main_class: str, *args: str) -> list[str]:
        return [
            java,
            *self.jvm_options,
            f"-Dlog4j2.configurationFile={KAFKA_LOG4J_CONFIG_PATH}",
            f"-Dkafka.logs.dir={self.logs_dir}",
            "-cp",
            f"{libs_dir}/*",
            main_class,
            *args,
        ]

    def format_storage(self, java: str, libs_dir: Path) -> None:
        """Format `data_dir` once; a formatted dir is kept across restarts."""
        if (self.data_dir / "meta.properties").is_file():
            return
        self.data_dir.mkdir(parents=True, exist_ok=True)
        cluster_id = self._cluster_id or new_cluster_id()
        argv = self._java_argv(
            java, libs_dir, "kafka.tools.StorageTool",
            "format", "-t", cluster_id, "-c", str(self.config_path),
        )
        try:
            result = subprocess.run(
                argv, capture_output=True, text=True, timeout=STORAGE_FORMAT_TIMEOUT_SECONDS, check=False
            )
        except subprocess.TimeoutExpired as exc:
            raise StackError(f"formatting Kafka storage in {self.data_dir} timed out") from exc
        if result.returncode != 0:
            output = (result.stdout + result.stderr).strip().splitlines()[-25:]
            raise StackError(
                f"formatting Kafka storage in {self.data_dir} failed (exit {result.returncode}):\n"
                + "\n".join(output)
            )
        self._cluster_id = cluster_id

    def _port_claims(self) -> list[PortClaim]:
        port_hint, controller_hint = self._port_hints
        claims = [
            PortClaim(self.port, "Kafka PLAINTEXT listener", port_hint),
            PortClaim(self.controller_port, "Kafka controller listener", controller_hint),
        ]
        claims += [
            PortClaim(l.port, f"Kafka {l.name} listener", "Listener(port=...)", l.host)
            for l in self.extra_listeners
        ]
        return claims

    def start(self) -> None:
        """Start and block until a client can describe the cluster, or raise StackError."""
        if self.is_running:
            return
        java = find_java(self._java)
        libs_dir = self.resolve_jars()
        ensure_ports_free(self._port_claims())
        self.write_config()
        self.format_storage(java, libs_dir)
        self.logs_dir.mkdir(parents=True, exist_ok=True)
        self._process = ManagedProcess(
            "kafka",
            self._java_argv(java, libs_dir, "kafka.Kafka", str(self.config_path)),
            self.stdout_log_path,
            cwd=self.base_dir,
        )
        self._process.start()
        try:
            self.wait_ready()
        except BaseException:
            # A broker that never became ready must not outlive the failure.
            self._process.kill()
            raise

    def wait_ready(self, timeout_seconds: float | None = None) -> None:
        """Block until the broker answers describe_cluster with a broker and a controller
        (checked every 0.25 s), up to `timeout_seconds` (default: the node's ready timeout).
        Raises StackError when it was never started, ProcessExitedError when it exits first and
        ReadinessTimeoutError when it is not ready in time (both with the end of its logs)."""
        if self._process is None:
            raise StackError("Kafka node was never started")
        timeout_seconds = self.ready_timeout_seconds if timeout_seconds is None else timeout_seconds

        def probe() -> str | None:
            # A cheap TCP check first keeps the client from logging connection errors.
            if not tcp_port_open(self.port):
                return f"nothing listening on {self.bootstrap_servers} yet"
            try:
                cluster = run_sync(lambda: _describe_cluster(self.bootstrap_servers, 5.0))
            except Exception as exc:  # any client error means "not ready yet"
                return f"describe_cluster failed: {type(exc).__name__}: {exc}"
            if not cluster.get("brokers") or cluster.get("controller_id", -1) < 0:
                return f"cluster has no registered broker/controller yet: {cluster}"
            return None

        wait_ready(
            probe,
            what=f"Kafka broker at {self.bootstrap_servers}",
            process=self._process,
            log_paths=[self.stdout_log_path, self.server_log_path],
            timeout_seconds=timeout_seconds,
            interval_seconds=0.25,
        )

    def log_tail(self, lines: int = 40) -> str:
        """The last `lines` lines of server.log (for error messages)."""
        return tail_text(self.server_log_path, lines)

    def __enter__(self) -> KafkaNode:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = f"pid {self.pid}" if self.is_running else "stopped"
        return f"KafkaNode({self.bootstrap_servers}, {state}, base_dir={self.base_dir})"
