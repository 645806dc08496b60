"""Is the compiled `kpi/` code (mypyc's `kpi/*.so`) the code of today's sources?

While a compiled module is present Python imports it instead of its `.py`, so an edit to
the source is silently ignored until the next `pip install -e .`. `tests/conftest.py`
refuses to start a test session when `stale_compiled_modules` finds anything.
"""

from __future__ import annotations

import importlib.machinery
import re
from collections.abc import Iterable
from pathlib import Path

SUFFIXES = tuple(importlib.machinery.EXTENSION_SUFFIXES)
# mypyc puts the compiled code of every module in one shared library at the root of the
# checkout, `<hash of the module set>__mypyc.<suffix>`; each `kpi/<module>.<suffix>` is a
# small shim that imports it by that name.
_SHARED_LIBRARY_NAME = re.compile(rb"[0-9a-f]{8,}__mypyc")


def _module_of(path: Path) -> str | None:
    for suffix in SUFFIXES:
        if path.name.endswith(suffix):
            return path.name[: -len(suffix)]
    return None


def leftover_shared_libraries(checkout: Path, shims: Iterable[Path]) -> list[str]:
    """One line per mypyc shared library at the root of `checkout` that none of `shims` (the
    compiled `kpi/*.so`) loads: left from a build of another module set, or from a compiled
    build since replaced by pure Python.

    The library the shims load is needed, and is not judged by its age: the build copies it
    before the shims, so it is always a little older than they are.
    """
    loaded = {m.decode() for shim in shims for m in _SHARED_LIBRARY_NAME.findall(shim.read_bytes())}
    problems = []
    for path in sorted(checkout.iterdir()):
        name = _module_of(path)
        if name is not None and name.endswith("__mypyc") and name not in loaded:
            why = "no compiled kpi module loads it" if loaded else "nothing in kpi/ is compiled"
            problems.append(f"{path.name} is left over: {why} (mypyc's runtime of an earlier build)")
    return problems


def stale_compiled_modules(package_dir: Path, compiled: tuple[str, ...]) -> list[str]:
    """One line per compiled module that does not match its source, or mypyc runtime no
    compiled module loads (in a source checkout: `package_dir`'s parent holds setup.py);
    [] when none is compiled or all are up to date. `compiled`: the modules the build
    compiles (kpi.COMPILED_MODULES)."""
    built = {}
    for path in package_dir.iterdir():
        module = _module_of(path)
        if module is not None:
            built[module] = path
    checkout = package_dir.parent
    problems = []
    if (checkout / "setup.py").is_file():  # not site-packages, where other projects' runtimes live
        problems += leftover_shared_libraries(checkout, built.values())
    if not built:
        return problems
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
        "sources (rm -f kpi/*.so *__mypyc*.so), or run the sources anyway with KPI_MONITOR_PURE_PYTHON=1. "
        "A runtime left over beside current compiled modules: remove just that file."
    )
