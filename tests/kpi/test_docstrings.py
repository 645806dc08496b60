"""Every public class, function and method of `kpi/` says what it holds or returns."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "kpi"


def _public(name: str) -> bool:
    return not name.startswith("_")


def undocumented(path: Path) -> list[str]:
    """Public top-level classes and functions, and public methods of public classes,
    without a docstring. NamedTuple and Struct fields are data, not functions."""
    missing = []
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and _public(node.name):
            if ast.get_docstring(node) is None:
                missing.append(node.name)
            if isinstance(node, ast.ClassDef):
                for item in node.body:
                    if isinstance(item, ast.FunctionDef) and _public(item.name) and ast.get_docstring(item) is None:
                        missing.append(f"{node.name}.{item.name}")
    return missing


@pytest.mark.parametrize("path", sorted(PACKAGE.glob("*.py")), ids=lambda p: p.name)
def test_public_names_have_docstrings(path: Path) -> None:
    assert undocumented(path) == []


def test_the_check_would_catch_a_missing_docstring(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text('def f():\n    pass\n\n\nclass C:\n    """Doc."""\n\n    def g(self):\n        return 1\n\n    def _h(self):\n        pass\n')
    assert undocumented(module) == ["f", "C.g"]
