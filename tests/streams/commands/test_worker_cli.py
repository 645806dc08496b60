"""`kpi-monitor worker` as a person runs it: a configuration mistake is one message, exit 2.

No broker is needed: every case fails before the worker connects to anything.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


def _worker(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.upper().startswith("KPI_")}
    return subprocess.run(
        [sys.executable, "-m", "streams.cli", "worker", *args],
        env={**clean, **(env or {})}, capture_output=True, text=True, timeout=120, check=False,
    )


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"KPI_WEB_PORT": "46066"}, "KPI_WEB_PORT: not a setting; did you mean KPI_WEB__PORT?"),
        ({"KPI_GRAEC": "5m"}, "KPI_GRAEC: not a setting; did you mean KPI_GRACE?"),
        ({"KPI_TRAILING_WINDOWS": "5m,1h"}, "KPI_TRAILING_WINDOWS: '5m,1h' is not JSON"),
        ({"KPI_WEB__PORT": "not-a-port"}, "KPI_WEB__PORT: Input should be a valid integer"),
    ],
)
def test_a_bad_variable_exits_2_with_one_message_and_no_traceback(env: dict[str, str], expected: str) -> None:
    result = _worker(env=env)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("kpi-monitor worker: invalid configuration:\n"), result.stderr
    assert expected in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_a_toml_syntax_error_and_a_missing_file_name_their_source(tmp_path: Path) -> None:
    broken = tmp_path / "worker.toml"
    broken.write_text('[kafka]\nbootstrap_servers = "k:9092"\n[web\n')
    result = _worker("--config", str(broken))
    assert result.returncode == 2
    assert f"{broken}:3: TOML syntax error" in result.stderr and "Traceback" not in result.stderr

    result = _worker("--config", "no-such-worker.toml")
    assert result.returncode == 2
    assert "--config no-such-worker.toml: no such file" in result.stderr


def test_an_unknown_toml_key_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "worker.toml"
    path.write_text("[kafka]\nbootstrap_server = \"k:9092\"\n")
    result = _worker("--config", str(path))
    assert result.returncode == 2
    assert f"{path}:2: kafka.bootstrap_server: not a setting; did you mean kafka.bootstrap_servers?" in result.stderr
