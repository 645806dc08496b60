"""The wall dashboard: a TV in kiosk mode (`/d/<uid>?kiosk`), readable across a room.

Big single-value panels coloured by the spec's targets, overall only (no breakdowns, no
template variables), with the workers and the data age first. The tiles are those of the
worker's /wall page (`wall_tiles.py`). A tile whose query returns nothing (the worker is
down) shows a red NO DATA, never an empty grey or green panel.
"""

from __future__ import annotations

from typing import Any

from streams.codegen.dashboards.common import generated_note
from streams.codegen.dashboards.panels import GRID_WIDTH, Panels, dashboard, dashboard_links
from streams.codegen.dashboards.wall_tiles import grid_rows, wall_tiles
from streams.codegen.model import Model

PANEL_HEIGHT = 6


def build(model: Model) -> dict[str, Any]:
    """The wall dashboard's JSON, for kiosk mode: the wall's tiles (`wall_tiles`, the same the
    /wall page shows) as big stat panels laid out in even rows, red when a tile has no data."""
    p = Panels(model)
    tiles = wall_tiles(model)
    start = 0
    for per_row in grid_rows(len(tiles)):
        for tile in tiles[start:start + per_row]:
            p.stat(
                tile.title, tile.promql, unit=tile.unit, decimals=tile.decimals, thresholds=list(tile.thresholds),
                description=tile.description, w=GRID_WIDTH // per_row, h=PANEL_HEIGHT, red_when_empty=True,
            )
        start += per_row
    return dashboard(
        model, model.grafana.wall, p, tags=["wall"], links=dashboard_links(model),
        description=f"Wall screen for kiosk mode: open /d/{model.grafana.wall.uid}?kiosk. " + generated_note(model),
    )
