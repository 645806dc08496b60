"""The worker's /wall page: one self-contained HTML file (inline CSS and JavaScript, no build
step, no CDN), generated from the spec like the dashboards and served by the worker
(`streams/worker/wall.py`).

The page fetches the worker's own /metrics from the same origin and parses the Prometheus
text format, so it shows exactly what Prometheus would scrape: the exporting worker's merged
values (streams/worker/partials.py), never a second computation that could disagree. The spec's
tiles, thresholds and ages are embedded as JSON; the template is `wall_page.template.html`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from streams import conventions as c
from streams.codegen.dashboards.wall_tiles import Tile, wall_tiles
from streams.codegen.model import Model

TEMPLATE = Path(__file__).with_name("wall_page.template.html")
PAGE_FILE = "wall.html"
# Fetch /metrics this often; a fetch that has not answered after the timeout counts as
# unreachable (the worker's web server answers a scrape in milliseconds).
REFRESH_SECONDS = 5
FETCH_TIMEOUT_SECONDS = 4
# The tiles a /metrics scrape holds only on the exporting worker (KPI and SLA gauges).
LOCAL_METRICS = frozenset({c.WATERMARK})


def page_tiles(model: Model) -> list[Tile]:
    """The wall's tiles that one scrape of the worker answers (not `Workers up`, which only
    Prometheus knows)."""
    return [t for t in wall_tiles(model) if t.source is not None]


def page_config(model: Model) -> dict[str, Any]:
    """The JSON the page embeds: its title, the /metrics path, the refresh and fetch timeout
    (ms), the data-age and export-age limits (seconds, the spec's pipeline limits), the grid's
    columns, the metric names it reads for its status line, and one entry per tile
    (`page_tiles`)."""
    tiles = page_tiles(model)
    return {
        "title": model.grafana.wall.title,
        "metrics_path": "/metrics",
        "refresh_ms": REFRESH_SECONDS * 1000,
        "timeout_ms": FETCH_TIMEOUT_SECONDS * 1000,
        "stale_seconds": model.pipeline.stale_max_age.seconds,
        "export_max_age_seconds": model.pipeline.export_max_age.seconds,
        "columns": _columns(len(tiles)),
        "metrics": {"watermark": c.WATERMARK, "exporter": c.EXPORTER, "exported_at": c.EXPORTED_AT, "export_complete": c.EXPORT_COMPLETE},
        "tiles": [_tile(t) for t in tiles],
    }


def _tile(t: Tile) -> dict[str, Any]:
    assert t.source is not None
    s = t.source
    return {
        "key": t.key,
        "title": t.title,
        "unit": t.unit,
        "decimals": t.decimals,
        "thresholds": [list(step) for step in t.thresholds],
        "target": t.target,
        "description": t.description,
        "exported": s.metric not in LOCAL_METRICS,
        "source": {"metric": s.metric, "match": [list(m) for m in s.match], "absent": list(s.absent),
                   "aggregate": s.aggregate, "transform": s.transform},
    }


def _columns(count: int) -> int:
    """Columns for a 16:9 screen: four from seven tiles on, fewer for a short wall."""
    return 4 if count >= 7 else 3 if count >= 5 else max(count, 1)


def build_page(model: Model, generated_lines: list[str]) -> str:
    """The page's HTML: the template with `generated_lines` as its "generated, do not edit"
    comment, the spec's wall title (HTML-escaped) and `page_config` as JSON inside its <script>
    (with "</" escaped so no value can end the element)."""
    config = json.dumps(page_config(model), indent=1, sort_keys=True, ensure_ascii=False)
    # Inside <script>, "</" could end the element early; JSON allows the escaped slash.
    config = config.replace("</", "<\\/")
    comment = "\n".join(line.replace("--", "- -") for line in generated_lines)
    return (
        TEMPLATE.read_text()
        .replace("__GENERATED__", comment)
        .replace("__TITLE__", _html_text(model.grafana.wall.title))
        .replace("__CONFIG__", config)
    )


def _html_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
