"""`kpi-monitor` command line: one sub-command per module in `streams.commands`.

Each command module exposes `register(subparsers)`, which adds its parser and
sets `func`. Heavy imports (faust, aiokafka) happen inside the command, so
`kpi-monitor replay --help` stays fast and works without a broker.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from importlib.metadata import PackageNotFoundError, version

DISTRIBUTION = "kpi-monitor"

# Order is the order shown by --help.
COMMAND_MODULES = (
    "streams.commands.replay",
    "streams.commands.worker",
    "streams.commands.generate",
    "streams.commands.stack",
    "streams.commands.demo",
)


def installed_version() -> str:
    """The installed distribution's version (pyproject.toml's, via the package metadata)."""
    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown (not installed: pip install -e .)"


def build_parser() -> argparse.ArgumentParser:
    """The `kpi-monitor` parser: `--version` and one sub-command per module of COMMAND_MODULES
    that imports (each adds itself with `register(subparsers)` and sets `func`). A command module
    that does not exist is left out; any other import error raises."""
    parser = argparse.ArgumentParser(
        prog="kpi-monitor",
        description="Real-time CX and service-desk KPIs: Kafka in, Prometheus out.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {installed_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # command not built yet; keep the others usable
                continue
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run `kpi-monitor` with `argv` (default: sys.argv[1:]); the exit status.

    The command's `func(args)` gives the status (None: 0); Ctrl-C is 130, as a shell reports SIGINT.
    argparse exits with 2 itself on a bad command line.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
