"""One long-running child process with its output in a log file.

Processes start in their own session so that Ctrl-C in the terminal that ran
`kpi-monitor stack up` does not reach them, and so a whole process group can
be signalled. `stop_pid` stops a process started by an earlier invocation
(from `var/stack/state.json`), checking its start time so a recycled pid is
never signalled.

`stack up` leaves its processes running on purpose. The demo does the opposite: after
`tie_children_to_this_process()`, every child started here gets a signal from the kernel
when this process dies, however it dies (SIGKILL included), through Linux's
prctl(PR_SET_PDEATHSIG). A process group would not do: the children need their own
sessions (Ctrl-C must reach the demo alone, which stops them in order), and nothing
signals a group when its parent is killed.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import psutil

from streams.stack.errors import StackError

_PR_SET_PDEATHSIG = 1  # linux/prctl.h
# The signal children of this process get when it dies; None: they outlive it (stack up).
_death_signal: int | None = None


def tie_children_to_this_process(sig: int = signal.SIGTERM) -> None:
    """From now on, every ManagedProcess started by this process gets `sig` when it dies.

    Linux only (prctl); elsewhere a no-op, and children outlive a killed parent as before.
    """
    global _death_signal
    _death_signal = sig


def die_with_parent(sig: int) -> Callable[[], None] | None:
    """A `preexec_fn` that makes the child receive `sig` when its parent dies (Linux), else None.

    The kernel sends it when the thread that forked the child exits, so call this from the
    main thread. If the parent died before prctl took effect, the child exits at once.
    """
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    parent = os.getpid()

    def preexec() -> None:
        # Runs in the child between fork and exec: no allocation-heavy work, no locks.
        if libc.prctl(_PR_SET_PDEATHSIG, sig, 0, 0, 0) != 0 or os.getppid() != parent:
            os._exit(1)

    return preexec


def child_preexec() -> Callable[[], None] | None:
    """The preexec_fn for a child started now: tied to this process if it asked for that."""
    return die_with_parent(_death_signal) if _death_signal is not None else None

# Two processes' create_time values are compared after a JSON round trip.
_CREATE_TIME_TOLERANCE_SECONDS = 1.0


def tail_text(path: Path, lines: int = 40) -> str:
    """The last `lines` lines of a text file, or a note that there is none."""
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - 64 * 1024))
            data = handle.read()
    except FileNotFoundError:
        return f"(no log file at {path})"
    text = data.decode("utf-8", errors="replace").splitlines()[-lines:]
    return "\n".join(text) if text else f"({path} is empty)"


def _reap(pid: int) -> None:
    """Collect the exit status if `pid` is our own child, so no zombie remains."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def _signal_group(pid: int, sig: int) -> None:
    try:
        if os.getpgid(pid) == pid:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)
    except ProcessLookupError:
        pass


def is_alive(pid: int, create_time: float | None = None) -> bool:
    """True if `pid` runs and is not a zombie (and, if given, started at `create_time`)."""
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            _reap(pid)
            return False
        if create_time is not None and abs(proc.create_time() - create_time) > _CREATE_TIME_TOLERANCE_SECONDS:
            return False
        return True
    except psutil.NoSuchProcess:
        return False


def _wait_dead(pid: int, timeout_seconds: float) -> bool:
    deadline = time.monotonic() + timeout_seconds
    while True:
        _reap(pid)
        if not is_alive(pid):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)


def stop_pid(pid: int, create_time: float | None, timeout_seconds: float) -> bool:
    """SIGTERM, then SIGKILL after `timeout_seconds`. False if it was not running."""
    if not is_alive(pid, create_time):
        return False
    _signal_group(pid, signal.SIGTERM)
    if not _wait_dead(pid, timeout_seconds):
        _signal_group(pid, signal.SIGKILL)
        _wait_dead(pid, 10.0)
    return True


class ManagedProcess:
    """A child process whose stdout and stderr are appended to `log_path`."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        log_path: Path,
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self._env = dict(env) if env is not None else None
        self._cwd = cwd
        self._popen: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start the process (nothing if it already runs): in a session of its own, stdin from
        /dev/null, stdout and stderr appended to its log after a dated header line, dying with
        this process (PDEATHSIG). Raises StackError when it cannot be started."""
        if self.is_running:
            return
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            log.write(f"\n=== {time.strftime('%Y-%m-%d %H:%M:%S')} starting: {' '.join(self.argv)}\n".encode())
            log.flush()
            try:
                self._popen = subprocess.Popen(
                    self.argv,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=self._env,
                    cwd=self._cwd,
                    start_new_session=True,
                    preexec_fn=child_preexec(),  # noqa: PLW1509 - async-signal-safe: one prctl call
                )
            except OSError as exc:
                raise StackError(f"could not start {self.name} ({self.argv[0]}): {exc}") from exc

    @property
    def pid(self) -> int | None:
        """The pid of the process started (None before `start` or after `detach`), whether it
        still runs or not."""
        return self._popen.pid if self._popen is not None else None

    @property
    def create_time(self) -> float | None:
        """When the process started (seconds since the epoch, as psutil reports it): with the
        pid, what tells it from a later process given the same pid; None when not started or
        already gone."""
        if self._popen is None:
            return None
        try:
            return psutil.Process(self._popen.pid).create_time()
        except psutil.NoSuchProcess:
            return None

    @property
    def returncode(self) -> int | None:
        """Its exit status once it has exited (negative: the signal that ended it), None while it
        runs or when it was not started."""
        return self._popen.poll() if self._popen is not None else None

    @property
    def is_running(self) -> bool:
        """Whether the process started is still running."""
        return self._popen is not None and self._popen.poll() is None

    def stop(self, timeout_seconds: float) -> None:
        """SIGTERM the process group; SIGKILL it if still there after `timeout_seconds`."""
        if self._popen is None or self._popen.poll() is not None:
            return
        _signal_group(self._popen.pid, signal.SIGTERM)
        try:
            self._popen.wait(timeout=timeout_seconds)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        """SIGKILL, as a crash would: no shutdown hooks run."""
        if self._popen is None or self._popen.poll() is not None:
            return
        _signal_group(self._popen.pid, signal.SIGKILL)
        self._popen.wait(timeout=30)

    def detach(self) -> None:
        """Forget the Popen handle: the process outlives this Python process on purpose."""
        self._popen = None


class ProcessLifecycle:
    """stop / kill / restart / detach for a service object that owns one `ManagedProcess`.

    The owner provides `_process`, `stop_timeout_seconds` and `start()`.
    """

    _process: ManagedProcess | None
    stop_timeout_seconds: float

    def start(self) -> None:  # pragma: no cover - provided by the owner
        """Start the service; the owner class provides it."""
        raise NotImplementedError

    def stop(self) -> None:
        """Controlled shutdown (SIGTERM); SIGKILL after `stop_timeout_seconds`."""
        if self._process is not None:
            self._process.stop(self.stop_timeout_seconds)

    def kill(self) -> None:
        """SIGKILL, like a crash."""
        if self._process is not None:
            self._process.kill()

    def restart(self) -> None:
        """Stop (if running) and start again on the same ports and data dir."""
        self.stop()
        self.start()

    def detach(self) -> None:
        """Leave the process running after this object is gone (the CLI's `stack up`)."""
        if self._process is not None:
            self._process.detach()
