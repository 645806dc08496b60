"""Grafana dashboards as code (grafana-foundation-sdk), one module per dashboard.

`build_dashboards(model)` returns file name -> dashboard JSON (a dict) with stable uids.
"""

from __future__ import annotations

from typing import Any

from streams.codegen.dashboards import pipeline, support_ops, wall
from streams.codegen.model import Model


def build_dashboards(model: Model) -> dict[str, dict[str, Any]]:
    """File name (`<uid>.json`) -> dashboard JSON (a dict, ready for `writer.json_text`) of the
    wall, support-ops and pipeline dashboards the spec's `grafana:` section names."""
    return {
        f"{model.grafana.wall.uid}.json": wall.build(model),
        f"{model.grafana.support_ops.uid}.json": support_ops.build(model),
        f"{model.grafana.pipeline.uid}.json": pipeline.build(model),
    }
