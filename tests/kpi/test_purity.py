"""`kpi/` is pure domain code: no faust, Kafka or Prometheus, neither imported nor named."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "kpi"
FORBIDDEN = ("faust", "aiokafka", "kafka", "confluent_kafka", "prometheus_client", "streams")
MODULES = sorted(f"kpi.{p.stem}" for p in PACKAGE.glob("*.py") if p.stem != "__init__")


def test_the_package_has_the_expected_modules() -> None:
    assert {"kpi.contract", "kpi.engine", "kpi.replay", "kpi.sketches", "kpi.windows", "kpi.series"} <= set(MODULES)


def test_importing_every_kpi_module_loads_no_runtime_package() -> None:
    code = (
        "import importlib, json, sys\n"
        f"for name in {['kpi', *MODULES]!r}:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, cwd=ROOT, env=env, timeout=60, check=True)
    loaded = json.loads(result.stdout)
    tops = {name.split(".")[0] for name in loaded}
    assert "kpi" in tops
    assert not tops & set(FORBIDDEN), sorted(tops & set(FORBIDDEN))


def _imports(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0 and node.module:
                names.append(node.module)
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", None)) in (
            "import_module", "__import__",
        ):
            names += [a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
    return names


@pytest.mark.parametrize("path", sorted(PACKAGE.glob("*.py")), ids=lambda p: p.name)
def test_no_module_imports_a_runtime_package(path: Path) -> None:
    for name in _imports(path):
        top = name.split(".")[0]
        assert top not in FORBIDDEN, f"{path.name} imports {name}"


def test_the_static_scan_would_catch_an_offender(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import os\nfrom aiokafka import AIOKafkaConsumer\nimport prometheus_client.core\n"
                   "def f():\n    import faust\n    __import__('kafka')\n")
    assert {n.split(".")[0] for n in _imports(bad)} & set(FORBIDDEN) == {"aiokafka", "prometheus_client", "faust", "kafka"}
