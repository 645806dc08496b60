"""`kpi-monitor stack up|down|status|jars`: the local Kafka + Prometheus + Alertmanager.

Exit codes: 0 ok; 1 a component could not be started or stopped (the message
says why and what to change); 2 bad settings; `status` returns 3 when not
every component is running, like an init script.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from streams.stack.settings import StackSettings

EXIT_FAILED = 1
EXIT_BAD_SETTINGS = 2
EXIT_NOT_RUNNING = 3

# Flag -> StackSettings field. Unset flags fall back to KPI_STACK_* / defaults.
# The defaults are repeated in the help text so `--help` needs no settings
# import; a test keeps them equal to StackSettings.
_SETTING_FLAGS: dict[str, tuple[type, str]] = {
    "state_dir": (str, "where pids, logs and data live (default var/stack)"),
    "kafka_port": (int, "Kafka bootstrap port (default 9092)"),
    "kafka_controller_port": (int, "Kafka KRaft controller port (default 19093)"),
    "prometheus_port": (int, "Prometheus web port (default 9090)"),
    "alertmanager_port": (int, "Alertmanager web port (default 9094)"),
    "worker_metrics_address": (str, "host:port Prometheus scrapes for worker metrics (default 127.0.0.1:6066)"),
    "alert_webhook_url": (str, "where Alertmanager posts alerts (default http://127.0.0.1:5001/alerts)"),
    "kafka_version": (str, "Kafka version resolved from Maven Central (default 4.1.2)"),
    "ready_timeout_seconds": (float, "how long each component may take to become ready (default 90)"),
}


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `kpi-monitor stack` and its actions up, down (--wipe-data), status and jars to
    `subparsers`, each with the stack's settings flags (also KPI_STACK_<NAME> environment
    variables)."""
    settings_flags = argparse.ArgumentParser(add_help=False)
    group = settings_flags.add_argument_group("settings (each also a KPI_STACK_<NAME> environment variable)")
    for name, (kind, help_text) in _SETTING_FLAGS.items():
        group.add_argument(f"--{name.replace('_', '-')}", dest=name, type=kind, default=None, help=help_text)

    parser = subparsers.add_parser(
        "stack",
        help="start/stop the local Kafka, Prometheus and Alertmanager",
        description="Run the local stack as plain processes on 127.0.0.1 (no Docker needed). "
        "See docs/local-stack.md.",
    )
    actions = parser.add_subparsers(dest="stack_action", metavar="ACTION", required=True)

    up = actions.add_parser("up", parents=[settings_flags], help="start whatever is not running yet")
    up.set_defaults(func=_up)

    down = actions.add_parser("down", parents=[settings_flags],
                              help="stop everything `up` (or a demo, worker and generator included) started")
    down.add_argument("--wipe-data", action="store_true",
                      help="also delete Kafka data (topics, checkpoints), TSDB and logs: the next demo starts clean")
    down.set_defaults(func=_down)

    status = actions.add_parser("status", parents=[settings_flags], help="show what runs and where")
    status.set_defaults(func=_status)

    jars = actions.add_parser("jars", parents=[settings_flags], help="resolve the Kafka jars with Maven (once)")
    jars.set_defaults(func=_jars)


def _settings(args: argparse.Namespace) -> StackSettings:
    from streams.stack.settings import StackSettings

    overrides: dict[str, Any] = {
        name: getattr(args, name) for name in _SETTING_FLAGS if getattr(args, name, None) is not None
    }
    return StackSettings(**overrides)


def _run(args: argparse.Namespace, action: Any) -> int:
    # Imported here so `kpi-monitor --help` does not load pydantic models and psutil.
    from pydantic import ValidationError

    from streams.stack.errors import StackError

    try:
        settings = _settings(args)
    except ValidationError as exc:
        print(f"error: invalid stack settings:\n{exc}", file=sys.stderr)
        return EXIT_BAD_SETTINGS
    try:
        return int(action(settings, args) or 0)
    except StackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED


def _progress(message: str) -> None:
    print(f"  {message}", file=sys.stderr, flush=True)


def _print_statuses(statuses: list, settings: StackSettings) -> None:
    from streams.stack.ports import tcp_port_open

    for status in statuses:
        if status.running:
            state = "started" if status.started_now else "running"
            where = "  ".join(f"{key} {value}" for key, value in status.endpoints.items() if key != "address")
            print(f"{status.name:<13} {state:<8} pid {status.pid:<8} {where}")
        else:
            print(f"{status.name:<13} stopped")
    host, _, port = settings.worker_metrics_address.rpartition(":")
    listening = port.isdigit() and tcp_port_open(int(port), host or "127.0.0.1")
    worker_state = "listening" if listening else "not listening (start it with `kpi-monitor worker`)"
    print(f"{'worker':<13} metrics http://{settings.worker_metrics_address}/metrics, {worker_state}")
    logs = [(s.name, path) for s in statuses for path in s.log_paths]
    if logs:
        print("logs:")
        for name, path in logs:
            print(f"  {name:<13} {path}")
    print(f"state: {settings.state_dir}")


def _up(args: argparse.Namespace) -> int:
    def action(settings: StackSettings, _: argparse.Namespace) -> int:
        from streams.stack.control import stack_up

        statuses = stack_up(settings, progress=_progress)
        _print_statuses(statuses, settings)
        return 0

    return _run(args, action)


def _down(args: argparse.Namespace) -> int:
    def action(settings: StackSettings, ns: argparse.Namespace) -> int:
        from streams.stack.control import stack_down

        stopped = stack_down(settings, wipe_data=ns.wipe_data, progress=_progress)
        print("stack stopped" if stopped else "nothing was running")
        return 0

    return _run(args, action)


def _status(args: argparse.Namespace) -> int:
    def action(settings: StackSettings, _: argparse.Namespace) -> int:
        from streams.stack.control import stack_status

        statuses = stack_status(settings)
        _print_statuses(statuses, settings)
        return 0 if all(s.running for s in statuses) else EXIT_NOT_RUNNING

    return _run(args, action)


def _jars(args: argparse.Namespace) -> int:
    def action(settings: StackSettings, _: argparse.Namespace) -> int:
        from streams.stack.jars import resolve_kafka_jars

        print(resolve_kafka_jars(kafka_version=settings.kafka_version, cache_dir=settings.jars_cache_dir))
        return 0

    return _run(args, action)
