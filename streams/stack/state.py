"""What `kpi-monitor stack up` started, kept in `<state_dir>/state.json`.

Each record holds the pid and the process start time: a pid alone could
belong to an unrelated process after a reboot or pid reuse, and `down` must
never signal that one.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

from streams.stack.process import is_alive

STATE_FILE_NAME = "state.json"


@dataclass(frozen=True)
class ComponentRecord:
    """One component the stack started, as the state file keeps it: its name, pid and creation
    time (together they identify the process, even after pid reuse), command line, log files, and
    endpoints to show (`{"bootstrap": ...}` or `{"url": ..., "address": ...}`)."""

    name: str
    pid: int
    create_time: float
    argv: list[str]
    log_paths: list[str]
    # What to show a person: {"bootstrap": "127.0.0.1:9092"} or {"url": "http://..."}.
    endpoints: dict[str, str] = field(default_factory=dict)

    @property
    def is_running(self) -> bool:
        """Whether that very process still runs (same pid and creation time, not a zombie)."""
        return is_alive(self.pid, self.create_time)


class StackState:
    """The state file of one state dir; every change rewrites it atomically."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = Path(state_dir).resolve()

    @property
    def path(self) -> Path:
        """The state file, in the state folder."""
        return self.state_dir / STATE_FILE_NAME

    @contextmanager
    def locked(self) -> Iterator[StackState]:
        """Serialise concurrent `up`/`down` on the same state dir."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        with (self.state_dir / ".lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield self

    def load(self) -> dict[str, ComponentRecord]:
        """The recorded components by name; {} when there is no state file or it cannot be read
        (a truncated file must not block `stack down`)."""
        try:
            raw = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}
        except ValueError:
            # A truncated file must not block `down`; the process sweep still finds our processes.
            return {}
        return {name: ComponentRecord(**record) for name, record in raw.get("components", {}).items()}

    def _save(self, records: dict[str, ComponentRecord]) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"components": {n: asdict(r) for n, r in records.items()}}, indent=2) + "\n")
        os.replace(tmp, self.path)

    def put(self, record: ComponentRecord) -> None:
        """Record `record` under its name (replacing an earlier one); the file is rewritten
        atomically."""
        records = self.load()
        records[record.name] = record
        self._save(records)

    def forget(self, name: str) -> None:
        """Remove the component `name` from the file, if recorded."""
        records = self.load()
        if records.pop(name, None) is not None:
            self._save(records)
