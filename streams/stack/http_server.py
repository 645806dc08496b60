"""Shared lifecycle of the Go servers (Prometheus, Alertmanager): a binary, a
rendered config file, a data dir, one HTTP port and a `/-/ready` endpoint."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

from streams.stack.errors import StackError, ToolNotFoundError
from streams.stack.ports import LOOPBACK_HOST, PortClaim, ensure_ports_free, free_port
from streams.stack.process import ManagedProcess, ProcessLifecycle, tail_text
from streams.stack.readiness import http_probe, wait_ready


def find_binary(candidates: Sequence[str], install_hint: str) -> str:
    """The full path of the first of `candidates` found on PATH (e.g. prometheus, then its Debian
    name). Raises ToolNotFoundError naming them all, with `install_hint`."""
    for candidate in candidates:
        found = shutil.which(candidate)
        if found is not None:
            return found
    raise ToolNotFoundError(f"{' or '.join(candidates)} not found on PATH; {install_hint}")


def format_duration(seconds: float) -> str:
    """Prometheus duration text: 1s, 250ms, 5m. Sub-millisecond values are rejected."""
    milliseconds = round(seconds * 1000)
    if milliseconds <= 0 or abs(milliseconds - seconds * 1000) > 1e-6:
        raise ValueError(f"duration must be a positive whole number of milliseconds, got {seconds!r} s")
    for unit, size in (("h", 3_600_000), ("m", 60_000), ("s", 1000)):
        if milliseconds % size == 0:
            return f"{milliseconds // size}{unit}"
    return f"{milliseconds}ms"


class HttpServer(ProcessLifecycle):
    """Base class: subclasses set `name`, `port_purpose` and build config and argv."""

    name = "server"
    port_purpose = "HTTP port"

    def __init__(
        self,
        base_dir: Path,
        *,
        port: int | None,
        binary: str,
        ready_timeout_seconds: float,
        stop_timeout_seconds: float,
        port_hint: str,
    ) -> None:
        self.base_dir = Path(base_dir).resolve()
        self.port = port if port is not None else free_port()
        self.binary = binary
        self.ready_timeout_seconds = ready_timeout_seconds
        self.stop_timeout_seconds = stop_timeout_seconds
        self._port_hint = port_hint
        self._process: ManagedProcess | None = None

    @property
    def address(self) -> str:
        """HOST:PORT the server listens on (loopback only)."""
        return f"{LOOPBACK_HOST}:{self.port}"

    @property
    def url(self) -> str:
        """The server's base URL, http://HOST:PORT."""
        return f"http://{self.address}"

    @property
    def config_path(self) -> Path:
        """The configuration file it runs with, `<name>.yml` in its folder (rewritten at every
        start)."""
        return self.base_dir / f"{self.name}.yml"

    @property
    def data_dir(self) -> Path:
        """Its storage folder (Prometheus' TSDB, Alertmanager's silences)."""
        return self.base_dir / "data"

    @property
    def log_path(self) -> Path:
        """The file its stdout and stderr go to."""
        return self.base_dir / f"{self.name}.log"

    @property
    def process(self) -> ManagedProcess | None:
        """The process this object started (None before `start` or after `detach`)."""
        return self._process

    @property
    def pid(self) -> int | None:
        """The pid of its process while it runs, else None."""
        return self._process.pid if self._process is not None and self._process.is_running else None

    @property
    def is_running(self) -> bool:
        """Whether the process this object started is still running."""
        return self._process is not None and self._process.is_running

    def render_config(self) -> str:
        """The configuration file's text; each server class gives its own."""
        raise NotImplementedError

    def argv(self) -> list[str]:
        """The command line that starts the server; each server class gives its own."""
        raise NotImplementedError

    def write_config(self) -> Path:
        """Write `render_config()` to `config_path` (folders created); returns the path."""
        self.config_path.parent.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(self.render_config())
        return self.config_path

    def start(self) -> None:
        """Start and block until `/-/ready` answers 200, or raise StackError."""
        if self.is_running:
            return
        ensure_ports_free([PortClaim(self.port, self.port_purpose, self._port_hint)])
        self.write_config()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._process = ManagedProcess(self.name, self.argv(), self.log_path, cwd=self.base_dir)
        self._process.start()
        try:
            wait_ready(
                http_probe(f"{self.url}/-/ready"),
                what=f"{self.name} at {self.url}",
                process=self._process,
                log_paths=[self.log_path],
                timeout_seconds=self.ready_timeout_seconds,
            )
        except BaseException:
            self._process.kill()
            raise

    def log_tail(self, lines: int = 40) -> str:
        """The last `lines` lines of its log (for error messages)."""
        return tail_text(self.log_path, lines)

    def _require_running(self) -> None:
        if not self.is_running:
            raise StackError(f"{self.name} at {self.url} is not running")

    def __enter__(self) -> HttpServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = f"pid {self.pid}" if self.is_running else "stopped"
        return f"{type(self).__name__}({self.url}, {state}, base_dir={self.base_dir})"
