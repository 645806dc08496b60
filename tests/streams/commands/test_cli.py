"""The `kpi-monitor` entry point itself."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_version_is_the_installed_package_version() -> None:
    # The console script of the installed package, as a person runs it; the version is
    # pyproject.toml's, read through the package metadata (not a copy in the code).
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    script = Path(sys.executable).with_name("kpi-monitor")
    result = subprocess.run([str(script), "--version"], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"kpi-monitor {declared}\n"
