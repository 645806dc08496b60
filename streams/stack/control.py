"""The person-facing local stack: `up`, `down` and `status` over one state dir.

`up` is idempotent: components recorded as running are reported, not touched;
the others are started (all their ports checked first, so a conflict fails
before any JVM starts). If a start fails, what this call started is stopped
again, so a failed `up` leaves nothing behind. `down` stops what the state
file names and then sweeps for any stack process still running from this state
dir (e.g. after the state file was deleted), so it leaves no process behind.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field

import psutil

from streams.stack.alertmanager import AlertmanagerServer
from streams.stack.http_server import HttpServer
from streams.stack.java import find_java
from streams.stack.kafka import KafkaNode
from streams.stack.ports import LOOPBACK_HOST, PortClaim, ensure_ports_free
from streams.stack.process import stop_pid
from streams.stack.prometheus import PrometheusServer
from streams.stack.settings import StackSettings, override_hint
from streams.stack.state import ComponentRecord, StackState
from streams.stack.topics import default_topics, ensure_topics

KAFKA = "kafka"
ALERTMANAGER = "alertmanager"
PROMETHEUS = "prometheus"
# Start order; `down` goes in reverse. Prometheus last so its first scrape
# and alert push find the others up.
COMPONENTS = (KAFKA, ALERTMANAGER, PROMETHEUS)
# What `kpi-monitor demo` starts on top of the stack, recorded in the same state file so
# that `down` stops them too, first (in reverse: the generator, then the worker).
DEMO_WORKER = "demo-worker"
DEMO_GENERATOR = "demo-generator"
DEMO_COMPONENTS = (DEMO_WORKER, DEMO_GENERATOR)
DEMO_DIR_NAME = "demo"
_STACK_EXECUTABLES = {"java", "prometheus", "prometheus-alertmanager", "alertmanager"}

Progress = Callable[[str], None]


@dataclass(frozen=True)
class ComponentStatus:
    """What `stack status` and `stack up` report of one component: its name, whether it runs (and
    its pid then), its endpoints (Kafka: bootstrap; HTTP servers: url and address), its log
    files, and whether this call started it."""

    name: str
    running: bool
    pid: int | None = None
    endpoints: dict[str, str] = field(default_factory=dict)
    log_paths: list[str] = field(default_factory=list)
    started_now: bool = False


def kafka_node(settings: StackSettings) -> KafkaNode:
    """The local Kafka broker (KRaft, one node) `settings` describe: its folder under the state
    directory, its two ports (with the flag that changes each, for a clash), version, jars cache
    and timeouts."""
    return KafkaNode(
        settings.state_dir / KAFKA,
        port=settings.kafka_port,
        controller_port=settings.kafka_controller_port,
        kafka_version=settings.kafka_version,
        jars_cache_dir=settings.jars_cache_dir,
        ready_timeout_seconds=settings.ready_timeout_seconds,
        stop_timeout_seconds=settings.stop_timeout_seconds,
        port_hint=override_hint("kafka_port"),
        controller_port_hint=override_hint("kafka_controller_port"),
    )


def alertmanager_server(settings: StackSettings) -> AlertmanagerServer:
    """The local Alertmanager `settings` describe: its folder, port (with the flag that changes
    it), the webhook it sends alerts to, and timeouts."""
    return AlertmanagerServer(
        settings.state_dir / ALERTMANAGER,
        port=settings.alertmanager_port,
        webhook_url=settings.alert_webhook_url,
        ready_timeout_seconds=settings.ready_timeout_seconds,
        stop_timeout_seconds=settings.stop_timeout_seconds,
        port_hint=override_hint("alertmanager_port"),
    )


def prometheus_server(settings: StackSettings, alertmanager_address: str) -> PrometheusServer:
    """The local Prometheus `settings` describe: its folder and port, scraping the worker's
    metrics address every `scrape_interval_seconds`, and sending alerts to the Alertmanager at
    `alertmanager_address` (HOST:PORT)."""
    return PrometheusServer(
        settings.state_dir / PROMETHEUS,
        port=settings.prometheus_port,
        scrape_targets=[settings.worker_metrics_address],
        alertmanager_targets=[alertmanager_address],
        scrape_interval_seconds=settings.scrape_interval_seconds,
        ready_timeout_seconds=settings.ready_timeout_seconds,
        stop_timeout_seconds=settings.stop_timeout_seconds,
        port_hint=override_hint("prometheus_port"),
    )


def _record(name: str, server: KafkaNode | HttpServer) -> ComponentRecord:
    process = server.process
    assert process is not None and process.pid is not None and process.create_time is not None
    if isinstance(server, KafkaNode):
        endpoints = {"bootstrap": server.bootstrap_servers}
        log_paths = [str(server.server_log_path), str(server.stdout_log_path)]
    else:
        endpoints = {"url": server.url, "address": server.address}
        log_paths = [str(server.log_path)]
    return ComponentRecord(
        name=name,
        pid=process.pid,
        create_time=process.create_time,
        argv=process.argv,
        log_paths=log_paths,
        endpoints=endpoints,
    )


def _status(record: ComponentRecord, *, started_now: bool = False) -> ComponentStatus:
    running = record.is_running
    return ComponentStatus(
        name=record.name,
        running=running,
        pid=record.pid if running else None,
        endpoints=record.endpoints,
        log_paths=record.log_paths,
        started_now=started_now,
    )


def stack_up(settings: StackSettings, progress: Progress = lambda message: None) -> list[ComponentStatus]:
    """Start whichever of Kafka, Alertmanager and Prometheus is not running yet (those running are
    reused), record each in the state file, and create the project's topics; `progress` gets one
    line per step. Returns the status of every component.

    Raises `PortInUseError` naming every taken port and `JavaNotFoundError` before anything starts,
    and a `StackError` when a component does not start; then what this call started is stopped
    again. Serialised with other stack commands by the state file's lock.
    """
    state = StackState(settings.state_dir)
    with state.locked():
        records = {name: r for name, r in state.load().items() if r.is_running}
        missing = [name for name in COMPONENTS if name not in records]
        for name in COMPONENTS:
            if name in records:
                progress(f"{name}: already running (pid {records[name].pid})")

        claims = {
            KAFKA: [
                PortClaim(settings.kafka_port, "Kafka PLAINTEXT listener", override_hint("kafka_port")),
                PortClaim(
                    settings.kafka_controller_port,
                    "Kafka controller listener",
                    override_hint("kafka_controller_port"),
                ),
            ],
            ALERTMANAGER: [
                PortClaim(settings.alertmanager_port, "Alertmanager web port", override_hint("alertmanager_port"))
            ],
            PROMETHEUS: [
                PortClaim(settings.prometheus_port, "Prometheus web port", override_hint("prometheus_port"))
            ],
        }
        ensure_ports_free(claim for name in missing for claim in claims[name])
        if KAFKA in missing:
            find_java()  # fail before any other component starts

        started: list[ComponentRecord] = []
        try:
            for name in missing:
                server: KafkaNode | HttpServer
                if name == KAFKA:
                    server = kafka_node(settings)
                elif name == ALERTMANAGER:
                    server = alertmanager_server(settings)
                else:
                    alertmanager = records.get(ALERTMANAGER)
                    address = (
                        alertmanager.endpoints["address"]
                        if alertmanager is not None
                        else f"{LOOPBACK_HOST}:{settings.alertmanager_port}"
                    )
                    server = prometheus_server(settings, address)
                progress(f"{name}: starting")
                server.start()
                record = _record(name, server)
                server.detach()
                started.append(record)
                records[name] = record
                state.put(record)
                progress(f"{name}: ready (pid {record.pid})")
            bootstrap = records[KAFKA].endpoints["bootstrap"]
            created = ensure_topics(
                bootstrap,
                default_topics(settings.topic_partitions, settings.dead_letter_partitions),
            )
            if created:
                progress(f"kafka: created topics {', '.join(created)}")
        except BaseException:
            for record in reversed(started):
                progress(f"{record.name}: stopping again after the failure")
                stop_pid(record.pid, record.create_time, settings.stop_timeout_seconds)
                state.forget(record.name)
            raise
        started_names = {record.name for record in started}
        return [_status(records[name], started_now=name in started_names) for name in COMPONENTS]


def _sweep(settings: StackSettings) -> list[int]:
    """Pids of stack processes still running from this state dir, whatever the state file says."""
    marker = str(settings.state_dir.resolve()) + "/"
    found: list[int] = []
    for proc in psutil.process_iter(["pid", "name", "cmdline", "status"]):
        info = proc.info
        cmdline = info["cmdline"] or []
        if info["status"] == psutil.STATUS_ZOMBIE or not cmdline:
            continue
        # psutil's name is the kernel's 15-character comm ("prometheus-aler").
        if os.path.basename(cmdline[0]) not in _STACK_EXECUTABLES:
            continue
        if any(marker in arg for arg in cmdline):
            found.append(info["pid"])
    return found


def stack_down(
    settings: StackSettings,
    *,
    wipe_data: bool = False,
    progress: Progress = lambda message: None,
) -> list[str]:
    """Stop every stack process of this state dir (a demo's worker and generator first); return the names stopped."""
    state = StackState(settings.state_dir)
    stopped: list[str] = []
    with state.locked():
        records = state.load()
        for name in reversed((*COMPONENTS, *DEMO_COMPONENTS)):
            record = records.get(name)
            if record is None:
                continue
            if stop_pid(record.pid, record.create_time, settings.stop_timeout_seconds):
                progress(f"{name}: stopped (pid {record.pid})")
                stopped.append(name)
            else:
                progress(f"{name}: was not running")
            state.forget(name)
        for pid in _sweep(settings):
            progress(f"stopping leftover stack process pid {pid}")
            stop_pid(pid, None, settings.stop_timeout_seconds)
            stopped.append(f"pid {pid}")
        if wipe_data:
            for name in (*COMPONENTS, DEMO_DIR_NAME):
                shutil.rmtree(settings.state_dir / name, ignore_errors=True)
            progress(f"removed data and logs under {settings.state_dir}")
    return stopped


def stack_status(settings: StackSettings) -> list[ComponentStatus]:
    """The stack's components, then a demo's worker and generator while they run."""
    records = StackState(settings.state_dir).load()
    return [
        _status(records[name]) if name in records else ComponentStatus(name=name, running=False)
        for name in COMPONENTS
    ] + [_status(records[name]) for name in DEMO_COMPONENTS if name in records and records[name].is_running]
