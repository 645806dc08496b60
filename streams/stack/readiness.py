"""Polling until a started process answers, without ever waiting forever."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path

from streams.stack.errors import ProcessExitedError, ReadinessTimeoutError
from streams.stack.process import ManagedProcess, tail_text

# A probe returns None when ready, or a short reason why not (shown on timeout).
Probe = Callable[[], str | None]


def _log_tails(log_paths: Sequence[Path], lines: int) -> str:
    return "\n".join(f"--- last lines of {path} ---\n{tail_text(path, lines)}" for path in log_paths)


def wait_ready(
    probe: Probe,
    *,
    what: str,
    process: ManagedProcess,
    log_paths: Sequence[Path],
    timeout_seconds: float,
    interval_seconds: float = 0.2,
    tail_lines: int = 30,
) -> None:
    """Poll `probe` until it returns None; fail fast if `process` exits first."""
    deadline = time.monotonic() + timeout_seconds
    reason = "not probed yet"
    while True:
        if not process.is_running:
            raise ProcessExitedError(
                f"{what} exited with code {process.returncode} before it became ready.\n"
                + _log_tails(log_paths, tail_lines)
            )
        reason = probe() or ""
        if not reason:
            return
        if time.monotonic() >= deadline:
            raise ReadinessTimeoutError(
                f"{what} was not ready after {timeout_seconds:g} s (last check: {reason}).\n"
                + _log_tails(log_paths, tail_lines)
            )
        time.sleep(interval_seconds)


def http_probe(url: str, timeout_seconds: float = 1.0) -> Probe:
    """A probe that is ready when GET `url` answers 200."""

    def probe() -> str | None:
        try:
            with urllib.request.urlopen(url, timeout=timeout_seconds) as response:  # noqa: S310 - loopback only
                if response.status == 200:
                    return None
                return f"GET {url} answered {response.status}"
        except urllib.error.HTTPError as exc:
            return f"GET {url} answered {exc.code}"
        except OSError as exc:
            return f"GET {url} failed: {exc}"

    return probe
