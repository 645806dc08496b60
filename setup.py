"""Optional compilation of the hot `kpi/` modules with mypyc (the rest is in pyproject.toml).

The engine runs once per event, and mypyc roughly halves its cost. Which modules are
compiled is `kpi.COMPILED_MODULES` (read from kpi/__init__.py without importing it: the
build environment has only the build requirements). Set KPI_MONITOR_PURE_PYTHON=1 to
install without compiling (e.g. while editing `kpi/`: a compiled module shadows its .py
until the next `pip install -e .`).
"""

import ast
import os
from pathlib import Path

from setuptools import setup


def compiled_modules() -> list[str]:
    """kpi/<name>.py of every name in kpi.COMPILED_MODULES."""
    tree = ast.parse((Path(__file__).parent / "kpi" / "__init__.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "COMPILED_MODULES" for t in node.targets):
            return [f"kpi/{name}.py" for name in ast.literal_eval(node.value)]
    raise SystemExit("kpi/__init__.py defines no COMPILED_MODULES")


ext_modules = []
if os.environ.get("KPI_MONITOR_PURE_PYTHON") != "1":
    from mypyc.build import mypycify

    # The build environment holds only the build requirements, so runtime libraries other
    # than msgspec (a build requirement for its stubs, see pyproject.toml) are typed as Any.
    ext_modules = mypycify(["--ignore-missing-imports", *compiled_modules()], opt_level="3")

setup(ext_modules=ext_modules)
