"""Helpers shared by the codegen tests: the generated files, parsed."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from streams import conventions as c
from streams.codegen import writer
from streams.codegen.generate import generated_files
from streams.codegen.model import Model, load_model

PROMTOOL_TESTS_DIR = Path(__file__).parent / "promtool"
RUNBOOK = writer.REPO_ROOT / "docs" / "runbook.md"


@cache
def model() -> Model:
    return load_model()


@cache
def files() -> dict[Path, str]:
    return generated_files(model())


def rule_files() -> list[Path]:
    return sorted(p for p in files() if p.parent == writer.RULES_DIR)


def dashboards() -> dict[str, dict[str, Any]]:
    return {p.stem: json.loads(text) for p, text in files().items() if p.parent == writer.DASHBOARDS_DIR}


def rules() -> Iterator[dict[str, Any]]:
    for path in rule_files():
        for group in yaml.safe_load(files()[path])["groups"]:
            yield from group["rules"]


def alert_rules() -> list[dict[str, Any]]:
    return [r for r in rules() if "alert" in r]


def recording_rules() -> list[dict[str, Any]]:
    return [r for r in rules() if "record" in r]


def panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in dashboard["panels"]:
        yield panel
        yield from panel.get("panels", [])


def exposed_metric_names() -> set[str]:
    """Every series name the worker exposes, from the conventions module."""
    names = {m.name for m in c.KPI_METRICS.values()}
    names |= {value for key, value in vars(c).items() if key.isupper() and isinstance(value, str) and value.startswith(f"{c.PREFIX}_")}
    histogram = c.RESOLUTION_HISTOGRAM
    names |= {f"{histogram}_bucket", f"{histogram}_count", f"{histogram}_sum"}
    return names


_IDENT = re.compile(r"\b([a-zA-Z_:][a-zA-Z0-9_:]*)\b")


def metric_names_in(expr: str) -> set[str]:
    """The app's raw series names (cxkpi_...) an expression mentions."""
    return {m for m in _IDENT.findall(expr) if m.startswith(f"{c.PREFIX}_")}


def recorded_names_in(expr: str) -> set[str]:
    return {m for m in _IDENT.findall(expr) if m.count(":") == 2}
