"""The /wall page generator: the spec's wall tiles, thresholds and ages embedded in one
self-contained HTML file that the worker can serve from any installation."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from streams import conventions as c
from streams.codegen import writer
from streams.codegen.model import build_model
from streams.codegen.spec import SPEC_PATH, parse_spec
from streams.codegen.wall_page import PAGE_FILE, build_page
from tests.streams.codegen.codegen_support import dashboards, files, model, panels

PAGE = writer.WALL_PAGE_DIR / PAGE_FILE


def _config(html: str) -> dict[str, Any]:
    [text] = re.findall(r'<script type="application/json" id="wall-config">(.*?)</script>', html, re.S)
    return json.loads(text)


@pytest.fixture
def raw() -> dict[str, Any]:
    return yaml.safe_load(SPEC_PATH.read_text())


def test_the_page_embeds_the_spec_tiles_and_thresholds() -> None:
    config = _config(files()[PAGE])
    tiles = {t["key"]: t for t in config["tiles"]}
    assert list(tiles) == [
        "data_age", "breached", "at_risk",
        "kpi:nps", "kpi:csat", "kpi:fcr_ratio", "kpi:first_response_time_p90_seconds", "kpi:resolution_time_p90_seconds",
        "sla_attainment", "open_tickets", "tickets_created", "nps_responses",
    ]
    # The spec's NPS target (min 20, amber below 30) and first-response p90 (max 1h, amber above 30m).
    assert tiles["kpi:nps"]["thresholds"] == [[None, "red"], [20, "amber"], [30, "green"]]
    assert tiles["kpi:first_response_time_p90_seconds"]["thresholds"] == [[None, "green"], [1800, "amber"], [3600, "red"]]
    assert tiles["kpi:nps"]["source"] == {
        "metric": "cxkpi_nps_score", "match": [["window", "24h"]], "absent": ["team", "channel", "priority"],
        "aggregate": "one", "transform": "value",
    }
    assert tiles["at_risk"]["source"]["match"] == [["within", "1h"]] and tiles["at_risk"]["source"]["aggregate"] == "sum"
    assert tiles["sla_attainment"]["source"]["transform"] == "one_minus"
    assert tiles["data_age"]["source"] == {"metric": c.WATERMARK, "match": [], "absent": [], "aggregate": "max", "transform": "age"}
    assert tiles["data_age"]["exported"] is False and all(t["exported"] for k, t in tiles.items() if k != "data_age")
    assert tiles["tickets_created"]["title"] == "Tickets created (trailing 24h)"
    assert config["stale_seconds"] == 900 and config["export_max_age_seconds"] == 120
    assert config["metrics_path"] == "/metrics" and config["columns"] == 4


def test_the_page_and_the_wall_dashboard_show_the_same_tiles() -> None:
    """One definition (dashboards/wall_tiles.py): same titles and colours, the dashboard adds
    what only Prometheus knows (Workers up)."""
    page = {t["title"]: t for t in _config(files()[PAGE])["tiles"]}
    board = {p["title"]: p for p in panels(dashboards()["kpi-wall"])}
    assert set(board) - set(page) == {"Workers up"} and set(page) <= set(board)
    grafana = {"amber": "#EAB839"}
    for title, tile in page.items():
        steps = [[s["value"], s["color"]] for s in board[title]["fieldConfig"]["defaults"]["thresholds"]["steps"]]
        assert steps == [[v, grafana.get(col, col)] for v, col in tile["thresholds"]], title


def test_the_wall_follows_the_spec_wall_keys(raw: dict[str, Any]) -> None:
    raw["kpis"]["csat"]["wall"] = False
    raw["kpis"]["ces"] = {"title": "Effort", "window": "1h", "max": 4, "warn": 3, "wall": True}
    m = build_model(parse_spec(raw))
    keys = [t["key"] for t in _config(build_page(m, ["x"]))["tiles"]]
    assert "kpi:csat" not in keys and "kpi:ces" in keys
    ces = next(t for t in _config(build_page(m, ["x"]))["tiles"] if t["key"] == "kpi:ces")
    assert ces["title"] == "Effort (1h)" and ces["thresholds"] == [[None, "green"], [3, "amber"], [4, "red"]]


def test_text_from_the_spec_cannot_break_out_of_the_page(raw: dict[str, Any]) -> None:
    raw["grafana"]["dashboards"]["wall"]["title"] = "Desk <b>wall</b> & co"
    raw["kpis"]["nps"]["title"] = "NPS</script><script>alert(1)</script>"
    html = build_page(build_model(parse_spec(raw)), ["generated"])
    assert "<title>Desk &lt;b&gt;wall&lt;/b&gt; &amp; co</title>" in html
    assert html.count("</script>") == 2  # the config's and the code's own
    assert _config(html)["tiles"][3]["title"] == "NPS</script><script>alert(1)</script> (24h)"


def test_the_page_ships_in_the_package(tmp_path: Path) -> None:
    """setuptools leaves non-Python files out of a wheel unless MANIFEST.in names them: build the
    package's files from a copy of the sources, as `pip install .` (the Docker image) does."""
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "setup.py", "README.md", "MANIFEST.in"):
        shutil.copy(writer.REPO_ROOT / name, src / name)
    for package in ("kpi", "streams"):
        shutil.copytree(writer.REPO_ROOT / package, src / package, ignore=shutil.ignore_patterns("__pycache__", "*.so"))
    result = subprocess.run(
        [sys.executable, "setup.py", "-q", "egg_info", "build_py", "--build-lib", str(tmp_path / "lib")],
        cwd=src, capture_output=True, text=True, timeout=300, env={**os.environ, "KPI_MONITOR_PURE_PYTHON": "1"},
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "lib" / "streams" / "static" / PAGE_FILE).read_text() == PAGE.read_text()


def test_the_page_refreshes_itself_and_never_reloads() -> None:
    html = files()[PAGE]
    assert 'http-equiv="refresh"' not in html and "location.reload" not in html
    assert "setTimeout(poll, CFG.refresh_ms)" in html and "AbortController" in html
    assert model().grafana.wall.title in html
