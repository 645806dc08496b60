"""Every public class, function and method of `streams/` says what it holds or returns:
shapes, units, errors raised, where a rule comes from (the project's standard for docstrings)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.docstrings import undocumented

ROOT = Path(__file__).resolve().parents[2]
MODULES = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "streams").rglob("*.py"))

# Not yet documented: other engineers were changing these files when the rest of streams/
# got its docstrings. Each is expected to fail (strict: once a file passes, its test fails
# too, until it is taken off this list). The lead empties the list.
NOT_YET = {
    "streams/settings.py",
    "streams/commands/replay.py",
    "streams/replay_jobs.py",
    "streams/codegen/spec.py",
    "streams/codegen/model.py",
    "streams/codegen/alert_rules.py",
}


def _case(module: str) -> object:
    if module in NOT_YET:
        return pytest.param(module, marks=pytest.mark.xfail(strict=True, reason="not yet documented (NOT_YET)"))
    return module


def test_the_not_yet_list_names_modules_that_exist() -> None:
    assert NOT_YET <= set(MODULES)


@pytest.mark.parametrize("module", [_case(m) for m in MODULES])
def test_public_names_have_docstrings(module: str) -> None:
    assert undocumented(ROOT / module) == []
