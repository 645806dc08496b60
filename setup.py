"""Optional compilation of the hot `kpi/` modules with mypyc (the rest is in pyproject.toml).

The engine runs once per event, and mypyc roughly halves its cost. Set
KPI_MONITOR_PURE_PYTHON=1 to install without compiling (e.g. while editing `kpi/`:
a compiled module shadows its .py until the next `pip install -e .`).
"""

import os

from setuptools import setup

# Hot-path modules only: validation of settings (config, sla) stays plain Python so a
# wrongly typed setting raises ConfigError, not a compiled TypeError.
COMPILED_MODULES = [
    "kpi/aggregates.py",
    "kpi/business_hours.py",
    "kpi/contract.py",
    "kpi/dedup.py",
    "kpi/engine.py",
    "kpi/errors.py",
    "kpi/labels.py",
    "kpi/partitions.py",
    "kpi/replay.py",
    "kpi/series.py",
    "kpi/sketches.py",
    "kpi/stickiness.py",
    "kpi/timestamps.py",
    "kpi/windows.py",
]

ext_modules = []
if os.environ.get("KPI_MONITOR_PURE_PYTHON") != "1":
    from mypyc.build import mypycify

    # The build environment holds only the build requirements, so runtime libraries
    # (orjson, xxhash) are typed as Any there.
    ext_modules = mypycify(["--ignore-missing-imports", *COMPILED_MODULES], opt_level="3")

setup(ext_modules=ext_modules)
