"""The production worker stands alone: importing it loads neither the local-stack launcher
(streams/stack/: Java, Maven, Prometheus processes) nor the other commands' packages."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
MODULES = sorted(f"streams.worker.{p.stem}" for p in (ROOT / "streams" / "worker").glob("*.py") if p.stem != "__init__")


def test_the_package_has_the_worker_rooms() -> None:
    rooms = {"app", "batching", "checkpoints", "engines", "exchange", "kafka", "metrics", "partials", "topics"}
    assert {f"streams.worker.{m}" for m in rooms} <= set(MODULES)


def test_importing_the_worker_loads_no_local_stack_code() -> None:
    code = (
        "import importlib, json, sys\n"
        f"for name in {['streams.worker', 'streams.commands.worker', *MODULES]!r}:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, cwd=ROOT, env=env, timeout=120, check=True)
    loaded = set(json.loads(result.stdout))
    assert "streams.worker.app" in loaded and "faust" in loaded  # the import did run
    assert not {m for m in loaded if m.startswith(("streams.stack", "streams.codegen", "streams.generator"))}


def test_durable_state_does_not_depend_on_faust() -> None:
    # The checkpoints and their seek-back bookkeeping are plain Python over small Kafka
    # protocols: only the adapters (kafka.py) and the app and its consumer import Faust.
    code = (
        "import json, sys\n"
        "import streams.worker.checkpoints, streams.worker.first_offsets\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, cwd=ROOT, env=env, timeout=120, check=True)
    loaded = set(json.loads(result.stdout))
    assert "streams.worker.checkpoints" in loaded
    assert not {m for m in loaded if m.split(".")[0] in ("faust", "aiokafka", "mode")}
