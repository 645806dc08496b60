"""The KPI tables of the docs, generated from the KPI catalog (`kpi.catalog`).

    python -m streams.codegen.kpi_docs            # rewrite the tables (`make generate` runs this)
    python -m streams.codegen.kpi_docs --check    # exit 1 if one differs (tests/kpi/test_catalog.py checks too)

Two tables: docs/kpis.md's KPI table (`kpi.catalog.markdown_table`) and docs/metrics.md's
windowed KPI gauges (`metrics_table`, from `streams.conventions.KPI_METRICS`). Only the
lines between each table's two markers are generated; the prose around them is written by hand.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import NamedTuple

from kpi.catalog import markdown_table
from streams import conventions

DOCS_DIR = Path(__file__).resolve().parents[2] / "docs"
_GENERATED_BY = "generated from kpi/catalog.py by `python -m streams.codegen.kpi_docs`; do not edit"


class GeneratedTable(NamedTuple):
    """One generated table: the Markdown file, the marker lines around the table, and the
    function that renders the table (Markdown lines, ending in a newline)."""

    doc: Path
    begin: str
    end: str
    render: Callable[[], str]


def metrics_table(metrics: Mapping[str, conventions.KpiMetric] | None = None) -> str:
    """The windowed KPI gauges of docs/metrics.md: replay name, exposed metric, help text
    (with the scale where the exposed value is not the replay value, e.g. csat x 0.01).

    `metrics`: KPI name -> gauge, `streams.conventions.KPI_METRICS` when None.
    """
    lines = ["| KPI (replay name) | metric | meaning |", "|---|---|---|"]
    for name, m in (conventions.KPI_METRICS if metrics is None else metrics).items():
        scale = "" if m.scale == 1.0 else f" (replay value x {m.scale:g})"
        lines.append(f"| `{name}` | `{m.name}` | {m.help}{scale} |")
    return "\n".join(lines) + "\n"


KPI_TABLE = GeneratedTable(
    DOCS_DIR / "kpis.md", f"<!-- BEGIN KPI table: {_GENERATED_BY} -->", "<!-- END KPI table -->", markdown_table
)
METRICS_TABLE = GeneratedTable(
    DOCS_DIR / "metrics.md", f"<!-- BEGIN KPI gauges: {_GENERATED_BY} -->", "<!-- END KPI gauges -->", metrics_table
)
TABLES = (KPI_TABLE, METRICS_TABLE)


def with_table(text: str, table: str, begin: str, end: str) -> str:
    """`text` with the lines between the marker lines `begin` and `end` replaced by `table`.

    Raises ValueError when the markers are missing or out of order.
    """
    start, stop = text.find(begin), text.find(end)
    if start < 0 or stop < start:
        raise ValueError(f"the generated table's markers are missing: put {begin!r} and {end!r} where the table goes")
    return text[: start + len(begin)] + "\n" + table + text[stop:]


def regenerated(table: GeneratedTable) -> tuple[str, str]:
    """(the file's text now, its text with the table regenerated). Raises ValueError as
    `with_table` does, OSError when the file cannot be read."""
    current = table.doc.read_text()
    return current, with_table(current, table.render(), table.begin, table.end)


def main(argv: list[str] | None = None) -> int:
    """Rewrite the generated tables (or with --check, only compare them); the exit status: 0
    written or up to date, 1 a table differs (with --check, named on stderr). Raises ValueError
    when a file lacks its markers."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if a table differs, write nothing")
    args = parser.parse_args(argv)
    stale = 0
    for table in TABLES:
        current, wanted = regenerated(table)
        if wanted == current:
            continue
        if args.check:
            print(f"{table.doc}: a table differs from kpi/catalog.py; run python -m streams.codegen.kpi_docs", file=sys.stderr)
            stale += 1
        else:
            table.doc.write_text(wanted)
            print(f"rewrote the generated table in {table.doc}")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
