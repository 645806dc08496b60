"""`kpi-monitor stack` as a person runs it: a separate process each time.

Every test uses its own state dir and free, non-default ports, so it never
touches a stack someone started by hand or the session's test broker.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from streams.stack.ports import free_port, tcp_port_open

STACK_EXECUTABLES = {"java", "prometheus", "prometheus-alertmanager"}


def _env(**overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KPI_STACK_")}
    env.update(overrides)
    return env


def _stack(*args: str, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "streams.cli", "stack", *args],
        capture_output=True,
        text=True,
        env=env or _env(),
        timeout=timeout,
        check=False,
    )


def _port_flags(state_dir: Path) -> list[str]:
    return [
        f"--state-dir={state_dir}",
        f"--kafka-port={free_port()}",
        f"--kafka-controller-port={free_port()}",
        f"--prometheus-port={free_port()}",
        f"--alertmanager-port={free_port()}",
        f"--worker-metrics-address=127.0.0.1:{free_port()}",
    ]


def _stack_processes(state_dir: Path) -> list[int]:
    """Live (non-zombie) stack processes whose command line mentions `state_dir`."""
    marker = str(state_dir.resolve())
    pids = []
    for proc in psutil.process_iter(["pid", "cmdline", "status"]):
        cmdline = proc.info["cmdline"] or []
        if proc.info["status"] != psutil.STATUS_ZOMBIE and any(marker in arg for arg in cmdline):
            pids.append(proc.info["pid"])
    return pids


def _pgrep(pattern: str) -> str:
    # pgrep -f matches the command line; a reaped or zombie process has none.
    return subprocess.run(["pgrep", "-af", pattern], capture_output=True, text=True, check=False).stdout


@pytest.mark.integration
def test_up_twice_status_and_down_leave_nothing_behind(tmp_path: Path) -> None:
    state_dir = tmp_path / "stack"
    flags = _port_flags(state_dir)
    ports = {f.split("=")[0]: f.split("=")[1] for f in flags}
    try:
        first = _stack("up", *flags)
        assert first.returncode == 0, first.stderr
        assert f"bootstrap 127.0.0.1:{ports['--kafka-port']}" in first.stdout
        assert f"url http://127.0.0.1:{ports['--prometheus-port']}" in first.stdout
        assert f"url http://127.0.0.1:{ports['--alertmanager-port']}" in first.stdout
        assert str(state_dir / "kafka" / "logs" / "server.log") in first.stdout
        assert first.stdout.count(" started ") == 3
        assert "created topics tickets, surveys, orders, customers, kpi-dead-letter" in first.stderr
        pids = sorted(_stack_processes(state_dir))
        assert len(pids) == 3

        started = time.monotonic()
        second = _stack("up", *flags)
        assert second.returncode == 0, second.stderr
        assert second.stdout.count(" running ") == 3
        assert second.stderr.count("already running") == 3
        assert sorted(_stack_processes(state_dir)) == pids  # nothing new, nothing restarted
        assert time.monotonic() - started < 15

        status = _stack("status", *flags)
        assert status.returncode == 0, status.stderr
        assert status.stdout.count(" running ") == 3
        assert "not listening (start it with `kpi-monitor worker`)" in status.stdout
        for port in (ports["--kafka-port"], ports["--prometheus-port"], ports["--alertmanager-port"]):
            assert tcp_port_open(int(port))
    finally:
        down = _stack("down", *flags)
    assert down.returncode == 0, down.stderr
    assert "stack stopped" in down.stdout
    assert _stack_processes(state_dir) == []
    assert _pgrep(str(state_dir)) == ""

    after = _stack("status", *flags)
    assert after.returncode == 3
    assert after.stdout.count(" stopped") == 3
    again = _stack("down", *flags)
    assert again.returncode == 0 and "nothing was running" in again.stdout


@pytest.mark.integration
def test_down_finds_stack_processes_even_without_a_state_file(tmp_path: Path) -> None:
    state_dir = tmp_path / "stack"
    flags = _port_flags(state_dir)
    try:
        up = _stack("up", *flags)
        assert up.returncode == 0, up.stderr
        (state_dir / "state.json").unlink()
    finally:
        down = _stack("down", *flags)
    assert down.returncode == 0, down.stderr
    assert "leftover stack process" in down.stderr
    assert _stack_processes(state_dir) == []


def test_taken_port_fails_fast_naming_port_and_override(tmp_path: Path) -> None:
    state_dir = tmp_path / "stack"
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        taken = sock.getsockname()[1]
        flags = [f for f in _port_flags(state_dir) if not f.startswith("--prometheus-port")]
        started = time.monotonic()
        result = _stack("up", *flags, f"--prometheus-port={taken}")
    assert result.returncode == 1
    assert time.monotonic() - started < 15
    assert f"port {taken} on 127.0.0.1 (Prometheus web port) is already in use" in result.stderr
    assert "--prometheus-port or KPI_STACK_PROMETHEUS_PORT" in result.stderr
    assert _stack_processes(state_dir) == []


def test_port_override_by_environment_variable(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        taken = sock.getsockname()[1]
        flags = [f for f in _port_flags(tmp_path) if not f.startswith("--kafka-port")]
        result = _stack("up", *flags, env=_env(KPI_STACK_KAFKA_PORT=str(taken)))
    assert result.returncode == 1
    assert f"port {taken} on 127.0.0.1 (Kafka PLAINTEXT listener)" in result.stderr


def test_no_java_on_path_is_a_clear_error(tmp_path: Path) -> None:
    env = _env(PATH=str(Path(sys.executable).parent))
    env.pop("JAVA_HOME", None)
    started = time.monotonic()
    result = _stack("up", *_port_flags(tmp_path / "stack"), env=env)
    assert result.returncode == 1
    assert "error: java not found on PATH and JAVA_HOME is not set" in result.stderr
    assert time.monotonic() - started < 15
    assert _stack_processes(tmp_path / "stack") == []


def test_wrong_java_home_is_a_clear_error(tmp_path: Path) -> None:
    result = _stack("up", *_port_flags(tmp_path / "stack"), env=_env(JAVA_HOME=str(tmp_path / "no-jdk")))
    assert result.returncode == 1
    assert f"error: JAVA_HOME is set to {tmp_path / 'no-jdk'}" in result.stderr


@pytest.mark.integration
def test_maven_failure_shows_its_output(tmp_path: Path) -> None:
    env = _env(KPI_STACK_KAFKA_VERSION="0.0.0-does-not-exist", KPI_STACK_JARS_CACHE_DIR=str(tmp_path / "jars"))
    result = _stack("up", *_port_flags(tmp_path / "stack"), env=env, timeout=600)
    assert result.returncode == 1
    assert "error: Maven failed (exit 1) resolving Kafka 0.0.0-does-not-exist" in result.stderr
    assert "BUILD FAILURE" in result.stderr
    assert _stack_processes(tmp_path / "stack") == []


def test_invalid_setting_is_rejected(tmp_path: Path) -> None:
    result = _stack("status", f"--state-dir={tmp_path}", env=_env(KPI_STACK_KAFKA_PORT="99999"))
    assert result.returncode == 2
    assert "invalid stack settings" in result.stderr and "kafka_port" in result.stderr


def test_help_shows_the_real_defaults() -> None:
    import re

    from streams.commands.stack import _SETTING_FLAGS
    from streams.stack.paths import STACK_STATE_DIR
    from streams.stack.settings import StackSettings

    defaults = StackSettings().model_dump()
    defaults["state_dir"] = STACK_STATE_DIR.relative_to(STACK_STATE_DIR.parents[1])
    for name, (_, help_text) in _SETTING_FLAGS.items():
        shown = re.search(r"\(default ([^)]+)\)", help_text).group(1)
        assert shown in {str(defaults[name]), f"{defaults[name]:g}" if isinstance(defaults[name], float) else ""}, name
