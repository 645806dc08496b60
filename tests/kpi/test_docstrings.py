"""Every public class, function and method of `kpi/` says what it holds or returns."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.docstrings import undocumented

PACKAGE = Path(__file__).resolve().parents[2] / "kpi"


@pytest.mark.parametrize("path", sorted(PACKAGE.glob("*.py")), ids=lambda p: p.name)
def test_public_names_have_docstrings(path: Path) -> None:
    assert undocumented(path) == []


def test_the_check_would_catch_a_missing_docstring(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text(
        'def f():\n    pass\n\n\nclass C:\n    """Doc."""\n\n    def g(self):\n        return 1\n\n'
        '    async def a(self):\n        pass\n\n    def _h(self):\n        pass\n\n\nasync def b():\n    pass\n'
    )
    assert undocumented(module) == ["f", "C.g", "C.a", "b"]
