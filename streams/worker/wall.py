"""The worker's read-only /wall page: big numbers for a wall screen without Grafana.

The page is generated from the KPI spec (`make generate`, streams/codegen/wall_page.py) into
streams/static/wall.html and served here as it is; in the browser it reads this worker's
/metrics, so it shows what Prometheus scrapes. A worker that does not export the KPI values
serves the page too, and the page says so.
"""

from __future__ import annotations

import logging
from functools import cache
from importlib import resources

from aiohttp.web import Response

log = logging.getLogger("kpi_monitor.wall")

PAGE = ("static", "wall.html")


@cache
def _page() -> bytes | None:
    """The generated page (read once: it changes only with a new install). None when the
    installation lacks it (a wheel built without MANIFEST.in's package data)."""
    try:
        return resources.files("streams").joinpath(*PAGE).read_bytes()
    except OSError as exc:
        log.error("the /wall page is not installed (streams/%s): %s", "/".join(PAGE), exc)
        return None


def wall_response() -> Response:
    """The page (text/html), or 500 with what is missing. Not cached by browsers, so a new
    install's page is picked up on the next load."""
    body = _page()
    if body is None:
        return Response(
            status=500,
            text="The wall page is not installed: streams/static/wall.html is missing from this installation. "
            "Install from a checkout (its MANIFEST.in ships the file), or run `make generate` there.\n",
            content_type="text/plain",
        )
    return Response(body=body, content_type="text/html", charset="utf-8", headers={"Cache-Control": "no-cache"})
