"""A dead pipeline turns the wall red, not grey: with the worker stopped, the wall dashboard's
queries, run against a real Prometheus that scraped a real worker, give values that the
tiles' own mappings and thresholds colour red."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from streams.stack.prometheus import PrometheusServer
from tests.streams.codegen.codegen_support import dashboards, panels, recorded_names_in
from tests.streams.codegen.live_stack import ticket_events, wait_for
from tests.streams.worker_harness import Topics, Worker, produce

pytestmark = pytest.mark.integration

WALL = {p["title"]: p for p in panels(dashboards()["kpi-wall"])}


def grafana_colour(panel: dict[str, Any], value: float | None) -> str:
    """The colour Grafana gives a stat panel's value, as its displayProcessor does: a matching
    value mapping first (null: the query returned no series), else the last threshold step
    whose value is at or below the value (the first step has none and always applies)."""
    defaults = panel["fieldConfig"]["defaults"]
    for mapping in defaults.get("mappings", []):
        match = mapping["options"].get("match")
        if mapping["type"] == "special" and match == "null+nan" and (value is None or math.isnan(value)):
            return mapping["options"]["result"]["color"]
    if value is None or math.isnan(value):
        value = -math.inf  # what Grafana falls back to without a mapping
    colour = None
    for step in defaults["thresholds"]["steps"]:
        if step["value"] is None or value >= step["value"]:
            colour = step["color"]
    assert colour is not None
    return colour


def _value(prometheus: PrometheusServer, title: str) -> float | None:
    """The tile's value: None when its query returns no series (Grafana's "No data")."""
    [target] = WALL[title]["targets"]
    result = prometheus.query(target["expr"])
    assert len(result) <= 1, f"{title}: a wall tile shows one number, got {result}"
    return float(result[0]["value"][1]) if result else None


def test_grafana_colour_follows_mappings_then_thresholds() -> None:
    """The reference above, on hand-picked values: NPS (red below 20, amber below 30)."""
    nps = WALL["NPS (24h)"]
    assert [grafana_colour(nps, v) for v in (-5.0, 20.0, 29.9, 30.0)] == ["red", "#EAB839", "#EAB839", "green"]
    assert grafana_colour(nps, None) == "red" and grafana_colour(nps, math.nan) == "red"
    bare = {"fieldConfig": {"defaults": {"thresholds": {"steps": [{"value": None, "color": "green"}, {"value": 1, "color": "red"}]}}}}
    assert grafana_colour(bare, None) == "green", "without the mapping an empty tile looks healthy"


def test_wall_turns_red_when_the_worker_stops(kafka, tmp_path: Path, prometheus_factory: Callable[..., PrometheusServer]) -> None:
    topics = Topics()
    topics.create(kafka.bootstrap_servers, partitions=1)
    worker = Worker(kafka.bootstrap_servers, topics, tmp_path)
    try:
        worker.wait_ready()
        prometheus = prometheus_factory([f"127.0.0.1:{worker.port}"])
        sent = produce(kafka.bootstrap_servers, topics, ticket_events("wall", time.time(), 8))
        worker.wait_consumed(sent)
        wait_for(lambda: _value(prometheus, "Data age") is not None and not math.isnan(_value(prometheus, "Data age") or 0), 30,
                 "Prometheus to scrape the watermark")

        # Running, fed seconds ago: one worker (green), fresh data (green), NPS a real number.
        assert _value(prometheus, "Workers up") == 1
        assert grafana_colour(WALL["Workers up"], 1) == "green"
        age = _value(prometheus, "Data age")
        assert age is not None and 0 <= age < 120 and grafana_colour(WALL["Data age"], age) == "green"
        assert _value(prometheus, "NPS (24h)") is not None

        worker.stop()
        wait_for(lambda: _value(prometheus, "Workers up") == 0, 30, "Prometheus to see the worker gone")
        wait_for(lambda: _value(prometheus, "NPS (24h)") is None, 30, "the worker's series to go stale")

        # Stopped: the pipeline tiles return a value, and it maps to red.
        workers = _value(prometheus, "Workers up")
        assert workers == 0 and grafana_colour(WALL["Workers up"], workers) == "red"
        age = _value(prometheus, "Data age")
        assert age is not None and math.isnan(age), "data age is unknown, not a stale number"
        assert grafana_colour(WALL["Data age"], age) == "red"
        # Every tile reading the worker's gauges has no series any more: a red NO DATA. (Tiles
        # over recording rules, SLA attainment, keep a day's history of rates and are not
        # loaded here.)
        live = {title: panel for title, panel in WALL.items() if not recorded_names_in(panel["targets"][0]["expr"])}
        assert len(live) == len(WALL) - 1
        for title, panel in live.items():
            value = _value(prometheus, title)
            assert grafana_colour(panel, value) == "red", f"{title}: {value} is not red"
    finally:
        worker.stop()


def test_workers_up_is_zero_not_empty_without_any_target(prometheus_factory: Callable[..., PrometheusServer]) -> None:
    """No scrape target of the job at all (e.g. the service discovery lost them): 0, red."""
    prometheus = prometheus_factory([])
    wait_for(lambda: bool(prometheus.query("vector(1)")), 30, "Prometheus to answer")
    assert _value(prometheus, "Workers up") == 0
    assert grafana_colour(WALL["Workers up"], 0) == "red"
