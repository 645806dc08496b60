"""Is the compiled `kpi/` code (mypyc's `kpi/*.so`) the code of today's sources?

While a compiled module is present Python imports it instead of its `.py`, so an edit to
the source is silently ignored until the next `pip install -e .`. `tests/conftest.py`
refuses to start a test session when `stale_compiled_modules` finds anything.
"""

from __future__ import annotations

import importlib.machinery
from pathlib import Path

SUFFIXES = tuple(importlib.machinery.EXTENSION_SUFFIXES)


def _module_of(path: Path) -> str | None:
    for suffix in SUFFIXES:
        if path.name.endswith(suffix):
            return path.name[: -len(suffix)]
    return None


def stale_compiled_modules(package_dir: Path, compiled: tuple[str, ...]) -> list[str]:
    """One line per compiled module that does not match its source; [] when none is compiled
    or all are up to date. `compiled`: the modules the build compiles (kpi.COMPILED_MODULES)."""
    built = {}
    for path in package_dir.iterdir():
        module = _module_of(path)
        if module is not None:
            built[module] = path
    if not built:
        return []
    problems = []
    for module, so in sorted(built.items()):
        source = package_dir / f"{module}.py"
        if module not in compiled or not source.exists():
            problems.append(f"{so.name} is left over: {module} is no longer compiled")
        elif source.stat().st_mtime > so.stat().st_mtime:
            problems.append(f"{source.name} changed after {so.name} was built")
    for module in compiled:
        if module not in built:
            problems.append(f"{module}.py has no compiled module while others have")
    return problems


def message(problems: list[str]) -> str:
    """The session's error: what is stale, and the two ways out."""
    lines = "\n".join(f"  - {p}" for p in problems)
    return (
        "the compiled kpi modules do not match their sources, so tests would run old code:\n"
        f"{lines}\n"
        "Rebuild them (.venv/bin/pip install -e '.[dev,rocksdb]'), or remove them to run the "
        "sources (rm -f kpi/*.so), or run the sources anyway with KPI_MONITOR_PURE_PYTHON=1."
    )
