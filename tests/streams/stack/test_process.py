from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import psutil

from streams.stack.process import ManagedProcess, is_alive, stop_pid, tail_text

# Ignores SIGTERM, so only the SIGKILL fallback can stop it.
STUBBORN = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('up', flush=True); time.sleep(600)"


def _wait_for_line(log: Path, line: str) -> None:
    # The log's first line echoes the argv, so match whole lines only.
    deadline = time.monotonic() + 10
    while line not in tail_text(log).splitlines() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert line in tail_text(log).splitlines()


def test_output_goes_to_the_log_and_stop_terminates(tmp_path: Path) -> None:
    process = ManagedProcess("p", [sys.executable, "-c", "print('hello', flush=True); import time; time.sleep(600)"], tmp_path / "p.log")
    process.start()
    _wait_for_line(tmp_path / "p.log", "hello")
    process.stop(timeout_seconds=5)
    assert not process.is_running and process.returncode == -15


def test_stop_falls_back_to_sigkill(tmp_path: Path) -> None:
    process = ManagedProcess("p", [sys.executable, "-c", STUBBORN], tmp_path / "p.log")
    process.start()
    _wait_for_line(tmp_path / "p.log", "up")
    started = time.monotonic()
    process.stop(timeout_seconds=0.5)
    assert process.returncode == -9
    assert time.monotonic() - started < 5


def test_stop_pid_checks_the_start_time_before_signalling(tmp_path: Path) -> None:
    process = ManagedProcess("p", [sys.executable, "-c", "import time; time.sleep(600)"], tmp_path / "p.log")
    process.start()
    pid, create_time = process.pid, process.create_time
    assert pid is not None and create_time is not None
    try:
        # A recycled pid: same number, different start time. Must not be touched.
        assert not stop_pid(pid, create_time - 100, timeout_seconds=1)
        assert process.is_running
        assert stop_pid(pid, create_time, timeout_seconds=5)
        assert not is_alive(pid)
    finally:
        process.kill()
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


def test_tail_of_a_missing_log(tmp_path: Path) -> None:
    assert "no log file" in tail_text(tmp_path / "nope.log")


# A parent that ties its children to itself, starts one (a ManagedProcess, as the demo's stack
# components are) and prints the child's pid; the test then SIGKILLs the parent.
TIED_PARENT = """
import sys, time
from pathlib import Path
from streams.stack.process import ManagedProcess, tie_children_to_this_process
if sys.argv[1] == "tied":
    tie_children_to_this_process()
child = ManagedProcess("c", [sys.executable, "-c", "import time; time.sleep(600)"], Path(sys.argv[2]))
child.start()
print(child.pid, flush=True)
time.sleep(600)
"""


def _orphan_after_killing_parent(tmp_path: Path, mode: str) -> psutil.Process:
    parent = subprocess.Popen([sys.executable, "-c", TIED_PARENT, mode, str(tmp_path / "c.log")], stdout=subprocess.PIPE, text=True)
    child = psutil.Process(int(parent.stdout.readline()))  # type: ignore[union-attr]
    parent.kill()  # SIGKILL: the parent runs no clean-up of its own
    parent.wait(10)
    return child


def _gone(proc: psutil.Process, within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            if proc.status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.05)
    return False


def test_children_tied_to_this_process_die_when_it_is_killed(tmp_path: Path) -> None:
    child = _orphan_after_killing_parent(tmp_path, "tied")
    assert _gone(child, within=10)


def test_untied_children_outlive_their_parent_as_stack_up_needs(tmp_path: Path) -> None:
    child = _orphan_after_killing_parent(tmp_path, "free")
    try:
        assert not _gone(child, within=1)
    finally:
        child.kill()
