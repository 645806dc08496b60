"""Which public names of a module lack a docstring (tests/kpi/ and tests/streams/ check theirs)."""

from __future__ import annotations

import ast
from pathlib import Path

_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef)


def _public(name: str) -> bool:
    return not name.startswith("_")


def undocumented(path: Path) -> list[str]:
    """Public top-level classes and functions (async ones too), and public methods of public
    classes, without a docstring, as "name" or "Class.method". NamedTuple, dataclass and
    Struct fields are data, not functions."""
    missing = []
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, (*_DEFS, ast.ClassDef)) and _public(node.name):
            if ast.get_docstring(node) is None:
                missing.append(node.name)
            if isinstance(node, ast.ClassDef):
                for item in node.body:
                    if isinstance(item, _DEFS) and _public(item.name) and ast.get_docstring(item) is None:
                        missing.append(f"{node.name}.{item.name}")
    return missing
