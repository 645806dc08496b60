"""`stack down` and `stack status` over a state file that records a demo's worker and generator.

The recorded processes are plain `sleep`s here: what matters is that `down` finds them in
the state file and stops them before the stack, not what they are.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import psutil

from streams.stack.control import DEMO_GENERATOR, DEMO_WORKER, stack_down, stack_status
from streams.stack.settings import StackSettings
from streams.stack.state import ComponentRecord, StackState


def _record(name: str, tmp_path: Path) -> tuple[ComponentRecord, subprocess.Popen]:
    popen = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"], start_new_session=True)
    record = ComponentRecord(name=name, pid=popen.pid, create_time=psutil.Process(popen.pid).create_time(),
                             argv=["sleep"], log_paths=[str(tmp_path / f"{name}.log")])
    return record, popen


def test_down_stops_a_demos_generator_then_its_worker(tmp_path: Path) -> None:
    settings = StackSettings(state_dir=tmp_path / "stack", stop_timeout_seconds=5)
    state = StackState(settings.state_dir)
    worker, worker_popen = _record(DEMO_WORKER, tmp_path)
    generator, generator_popen = _record(DEMO_GENERATOR, tmp_path)
    try:
        with state.locked():
            state.put(worker)
            state.put(generator)
        running = [s.name for s in stack_status(settings) if s.running]
        assert running == [DEMO_WORKER, DEMO_GENERATOR]
        messages: list[str] = []
        stopped = stack_down(settings, progress=messages.append)
        assert stopped == [DEMO_GENERATOR, DEMO_WORKER]
        assert messages[:2] == [f"{DEMO_GENERATOR}: stopped (pid {generator.pid})", f"{DEMO_WORKER}: stopped (pid {worker.pid})"]
        # stop_pid reaps them (they are this process's children here), so only "gone" is left to see.
        assert not psutil.pid_exists(worker.pid) and not psutil.pid_exists(generator.pid)
        assert state.load() == {}
        assert [s.name for s in stack_status(settings)] == ["kafka", "alertmanager", "prometheus"]
    finally:
        for popen in (worker_popen, generator_popen):
            if popen.poll() is None:
                popen.kill()
