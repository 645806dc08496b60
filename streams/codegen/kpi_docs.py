"""The KPI table of docs/kpis.md, generated from the KPI catalog (`kpi.catalog`).

    python -m streams.codegen.kpi_docs            # rewrite the table in docs/kpis.md
    python -m streams.codegen.kpi_docs --check    # exit 1 if it differs (tests/kpi/test_catalog.py checks too)

Only the lines between the two markers are generated; the prose around them is written by hand.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from kpi.catalog import markdown_table

DOCS = Path(__file__).resolve().parents[2] / "docs" / "kpis.md"
BEGIN = "<!-- BEGIN KPI table: generated from kpi/catalog.py by `python -m streams.codegen.kpi_docs`; do not edit -->"
END = "<!-- END KPI table -->"


def with_table(text: str, table: str) -> str:
    """`text` with the lines between the markers replaced by `table`.

    Raises ValueError when the markers are missing or out of order.
    """
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < start:
        raise ValueError(f"the KPI table markers are missing: put {BEGIN!r} and {END!r} where the table goes")
    return text[: start + len(BEGIN)] + "\n" + table + text[end:]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if docs/kpis.md differs, write nothing")
    args = parser.parse_args(argv)
    current = DOCS.read_text()
    wanted = with_table(current, markdown_table())
    if wanted == current:
        return 0
    if args.check:
        print(f"{DOCS}: the KPI table differs from kpi/catalog.py; run python -m streams.codegen.kpi_docs", file=sys.stderr)
        return 1
    DOCS.write_text(wanted)
    print(f"rewrote the KPI table in {DOCS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
