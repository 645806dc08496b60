"""Compiled code that is safe to edit: kpi names its compiled modules, stale ones stop the
test session, and KPI_MONITOR_PURE_PYTHON=1 runs the sources even where they are compiled."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

import kpi
from tests.compiled_kpi import message, stale_compiled_modules

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "kpi"


def test_the_compiled_modules_exist_and_exclude_what_must_stay_python() -> None:
    for name in kpi.COMPILED_MODULES:
        assert (PACKAGE / f"{name}.py").is_file(), name
    # snapshots: a compiled msgspec Struct loses array_like (the checkpoint layout);
    # config, sla: invalid settings must raise ConfigError, not a compiled TypeError.
    assert not {"snapshots", "config", "sla"} & set(kpi.COMPILED_MODULES)


def test_setup_py_compiles_exactly_the_named_modules() -> None:
    tree = ast.parse((ROOT / "setup.py").read_text())
    function = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "compiled_modules")
    namespace: dict = {"__file__": str(ROOT / "setup.py")}
    exec("import ast\nfrom pathlib import Path\n" + ast.unparse(function), namespace)  # noqa: S102 - our own setup.py
    assert namespace["compiled_modules"]() == [f"kpi/{name}.py" for name in kpi.COMPILED_MODULES]


def _touch(path: Path, mtime: float, text: str = "") -> None:
    path.write_text(text)
    os.utime(path, (mtime, mtime))


def test_a_compiled_module_older_than_its_source_is_reported(tmp_path: Path) -> None:
    so = EXTENSION_SUFFIXES[0]
    for name in ("engine", "series"):
        _touch(tmp_path / f"{name}.py", 1000)
        _touch(tmp_path / f"{name}{so}", 2000)
    assert stale_compiled_modules(tmp_path, ("engine", "series")) == []
    _touch(tmp_path / "engine.py", 3000)  # edited after the build
    _touch(tmp_path / f"gone{so}", 2000)  # compiled once, since dropped from the list
    problems = stale_compiled_modules(tmp_path, ("engine", "series", "fresh"))
    assert problems == [
        f"engine.py changed after engine{so} was built",
        f"gone{so} is left over: gone is no longer compiled",
        "fresh.py has no compiled module while others have",
    ]
    assert "pip install -e" in message(problems) and "KPI_MONITOR_PURE_PYTHON=1" in message(problems)
    for path in tmp_path.glob(f"*{so}"):
        path.unlink()
    assert stale_compiled_modules(tmp_path, ("engine", "series", "fresh")) == []  # nothing compiled: sources run


def test_a_mypyc_runtime_no_compiled_module_loads_is_reported(tmp_path: Path) -> None:
    so = EXTENSION_SUFFIXES[0]
    checkout, package = tmp_path, tmp_path / "kpi"
    package.mkdir()
    (checkout / "setup.py").write_text("")
    _touch(package / "engine.py", 1000)
    # A shim names the runtime it loads (as mypyc's shims do: the hash of the module set).
    (package / f"engine{so}").write_bytes(b"\x00ELF...PyInit_engine\x00" + b"1d225957e447c67045dc__mypyc\x00...")
    os.utime(package / f"engine{so}", (2000, 2000))
    _touch(checkout / f"1d225957e447c67045dc__mypyc{so}", 1999)  # copied just before the shims: needed
    _touch(checkout / f"18d7e3c86b48edcfbcb3__mypyc{so}", 500)  # a build of another module set
    left = f"18d7e3c86b48edcfbcb3__mypyc{so} is left over: no compiled kpi module loads it (mypyc's runtime of an earlier build)"
    assert stale_compiled_modules(package, ("engine",)) == [left]
    (package / f"engine{so}").unlink()  # pure Python now: no runtime is needed
    assert stale_compiled_modules(package, ("engine",)) == [
        f"18d7e3c86b48edcfbcb3__mypyc{so} is left over: nothing in kpi/ is compiled (mypyc's runtime of an earlier build)",
        f"1d225957e447c67045dc__mypyc{so} is left over: nothing in kpi/ is compiled (mypyc's runtime of an earlier build)",
    ]
    assert "*__mypyc*.so" in message([left])
    # Outside a source checkout (site-packages), other projects' runtimes are not ours to judge.
    (checkout / "setup.py").unlink()
    assert stale_compiled_modules(package, ("engine",)) == []


def test_the_pure_python_switch_imports_sources_over_compiled_modules(tmp_path: Path) -> None:
    # A copy of the package whose engine has a "compiled module" that cannot load: only the
    # switch makes `import kpi.engine` take the source.
    copy = tmp_path / "kpi"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("*.so", "__pycache__"))
    (copy / f"engine{EXTENSION_SUFFIXES[0]}").write_bytes(b"not a shared object")
    code = "import kpi.engine; print(kpi.engine.__file__)"
    env = {k: v for k, v in os.environ.items() if k != kpi.PURE_PYTHON_ENV}
    env["PYTHONPATH"] = os.pathsep.join([str(tmp_path), str(ROOT)])
    compiled = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=60)
    assert compiled.returncode != 0 and "ImportError" in compiled.stderr
    env[kpi.PURE_PYTHON_ENV] = "1"
    pure = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=60)
    assert pure.returncode == 0, pure.stderr
    assert pure.stdout.strip() == str(copy / "engine.py")
