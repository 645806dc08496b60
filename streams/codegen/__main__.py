"""Generate the Prometheus rules, the Grafana files and the worker's /wall page from the KPI spec.

    python -m streams.codegen            # rewrite them (make generate)
    python -m streams.codegen --check    # exit 1 if a committed file differs (the tests do this too)
    python -m streams.codegen --spec other.yaml --check

Exit status: 0 done or up to date, 1 drift (with --check), 2 the spec is invalid.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from streams.codegen.errors import SpecError
from streams.codegen.generate import generated_files
from streams.codegen.model import load_model
from streams.codegen.spec import SPEC_PATH
from streams.codegen.writer import REPO_ROOT, check, write


def _rel(path: Path) -> str:
    try:
        return str(path.relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def main(argv: list[str] | None = None) -> int:
    """Generate or check every file the spec gives (see the module's usage); the exit status: 0
    written or up to date, 1 drift found with --check, 2 the spec is invalid (its `SpecError`
    printed to stderr)."""
    parser = argparse.ArgumentParser(prog="python -m streams.codegen", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--spec", type=Path, default=SPEC_PATH, help=f"the spec file (default {_rel(SPEC_PATH)})")
    parser.add_argument("--check", action="store_true", help="report drift instead of writing")
    args = parser.parse_args(argv)
    try:
        model = load_model(args.spec)
    except SpecError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    files = generated_files(model)
    if args.check:
        drift = check(files)
        for d in drift:
            print(f"{d.reason}: {_rel(d.path)}", file=sys.stderr)
        if drift:
            print("generated files are out of date: run `make generate`", file=sys.stderr)
            return 1
        print(f"{len(files)} generated files are up to date with {_rel(args.spec)}")
        return 0
    touched = write(files)
    for path in touched:
        print(f"wrote {_rel(path)}" if path.exists() else f"removed {_rel(path)}")
    print(f"{len(files)} files from {_rel(args.spec)}; {len(touched)} changed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
