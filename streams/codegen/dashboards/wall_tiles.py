"""The wall's tiles, defined once for the Grafana wall dashboard and the worker's /wall page.

Each tile has a PromQL query (the dashboard) and, where one scrape can answer it, a
`Source`: which series of the worker's /metrics the page reads. Colours are the spec's
targets: red past the target, amber in the `warn` band.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from streams import conventions as c
from streams.codegen.dashboards.common import attainment, kpi, overall
from streams.codegen.durations import Duration
from streams.codegen.model import DASHBOARD_SLI_WINDOW, KpiTarget, Model, Unit
from streams.codegen.promql import eq, number, sel

Colour = Literal["green", "amber", "red", "blue"]
Thresholds = tuple[tuple[float | None, Colour], ...]
BREAKDOWN_LABELS = ("team", "channel", "priority")


@dataclass(frozen=True)
class Source:
    """The series of one /metrics scrape a tile reads.

    `match`: label values a series must carry; `absent`: labels it must not carry (overall
    KPI series have no breakdown label). `aggregate`: "one" (the single matching series; none
    = no data), "max" (none = no data) or "sum" (of every match; none = 0, as the worker
    exposes no SLA series while it tracks no open ticket). `transform`: "value", "one_minus"
    (attainment = 1 - breach ratio) or "age" (the worker's time minus the value, a timestamp
    in seconds).
    """

    metric: str
    match: tuple[tuple[str, str], ...] = ()
    absent: tuple[str, ...] = ()
    aggregate: Literal["one", "sum", "max"] = "one"
    transform: Literal["value", "one_minus", "age"] = "value"


@dataclass(frozen=True)
class Tile:
    """One tile of the wall, for the dashboard and the /wall page alike.

    `key`: stable id ("kpi:nps", ...). `title`: as shown. `promql`: the dashboard's query. `source`:
    the /metrics series the page reads (None: only Prometheus can answer, dashboard only). `unit`:
    Grafana's unit ("percentunit", "s", "none"); `decimals` shown. `thresholds`: (lower bound or
    None for the base, colour) steps, ascending. `description`: the dashboard's tooltip; `target`:
    the target in words for the page's footer.
    """

    key: str
    title: str
    promql: str
    source: Source | None  # None: only Prometheus can answer it (the dashboard only)
    unit: Unit
    decimals: int
    thresholds: Thresholds
    description: str
    target: str = ""  # the target in words, for the page's tile footer


def wall_tiles(model: Model) -> list[Tile]:
    """The wall in reading order: pipeline and SLA state first, then the spec's wall KPIs,
    then attainment, volumes and the NPS sample."""
    day = day_window(model)
    stale = model.pipeline.stale_max_age.seconds
    horizon = model.sla.at_risk_horizon
    objective = model.sla.slo.objective
    job = model.pipeline.job
    tiles = [
        Tile(
            "workers_up", "Workers up",
            # `or on() vector(0)`: with every worker gone Prometheus has no `up` series of the job
            # at all once its targets disappear; 0 is then the truth, and red.
            f"sum({sel('up', eq('job', job))}) or on() vector(0)",
            None, "none", 0, ((None, "red"), (1, "green")),
            f"Workers of job {job} that Prometheus scrapes successfully; 0 (red) when none is.",
        ),
        Tile(
            "data_age", "Data age",
            # NaN when no worker serves a watermark (all down, or nothing consumed yet): the
            # tile's NaN mapping shows it as red NO DATA instead of a grey empty panel.
            f"time() - max({c.WATERMARK}) or on() vector(NaN)",
            Source(c.WATERMARK, aggregate="max", transform="age"), "s", 0,
            ((None, "green"), (stale / 3, "amber"), (stale, "red")),
            "Time since the newest event the workers accepted: how fresh every number here is. "
            f"Red from {model.pipeline.stale_max_age.human()} (KpiDataStale), red NO DATA when no worker reports.",
            target=f"red from {model.pipeline.stale_max_age.human()}",
        ),
        Tile(
            "breached", "Breached now", f"sum({c.SLA_BREACHED})", Source(c.SLA_BREACHED, aggregate="sum"),
            "none", 0, ((None, "green"), (1, "red")), "Open tickets already past their resolution target.",
            target="red from 1",
        ),
        Tile(
            "at_risk", f"Breach within {horizon}", f"sum({sel(c.SLA_AT_RISK, eq('within', horizon))})",
            Source(c.SLA_AT_RISK, match=(("within", horizon),), aggregate="sum"),
            "none", 0, ((None, "green"), (1, "amber")), f"Open tickets that breach their target within {horizon} unless resolved.",
            target="amber from 1",
        ),
    ]
    tiles += [kpi_tile(k) for k in model.wall_kpis]
    tiles += [
        Tile(
            "sla_attainment", f"SLA attainment ({day})",
            attainment(DASHBOARD_SLI_WINDOW),
            Source(kpi("sla_breach_ratio"), match=((c.WINDOW_LABEL, day),), absent=BREAKDOWN_LABELS, transform="one_minus"),
            "percentunit", 1, ((None, "red"), (objective, "green")),
            f"Share of the last {day}'s resolutions within their priority's target; the objective is {objective * 100:g}%.",
            target=f"objective ≥ {objective * 100:g}%",
        ),
        Tile(
            "open_tickets", "Open tickets", f"sum({c.SLA_OPEN})", Source(c.SLA_OPEN, aggregate="sum"),
            "none", 0, ((None, "blue"),), "Open tickets now, every team and priority.",
        ),
        Tile(
            "tickets_created", f"Tickets created (trailing {day})", overall(kpi("tickets_created"), day),
            _overall_source("tickets_created", day), "none", 0, ((None, "blue"),),
            f"Tickets created in the last {day} (a trailing window, not since midnight).",
        ),
    ]
    nps = model.kpi("nps")
    if nps is not None and nps.wall:
        tiles.append(Tile(
            "nps_responses", f"NPS responses ({nps.window})", overall(kpi("nps_responses"), nps.window),
            _overall_source("nps_responses", nps.window), "none", 0, ((None, "red"), (nps.min_samples, "green")),
            "The NPS sample: below the minimum (red) the NPS is shown but not alerted on.",
            target=f"alerts need ≥ {nps.min_samples}",
        ))
    return tiles


def kpi_tile(k: KpiTarget) -> Tile:
    """The tile of one KPI target of the spec: the overall series over the target's window,
    coloured by its limit (red past it) and its `warn` band (amber), described with the minimum
    sample its alert needs."""
    side = "≥" if k.direction == "min" else "≤"
    description = f"Overall, last {k.window}. Target: {side} {format_threshold(k.limit, k.unit)}"
    target = f"target {side} {format_threshold(k.limit, k.unit)}"
    if k.warn is not None:
        target += f", amber {'<' if k.direction == 'min' else '>'} {format_threshold(k.warn, k.unit)}"
    return Tile(
        f"kpi:{k.kpi}", f"{k.title} ({k.window})", overall(k.metric, k.window), _overall_source(k.kpi, k.window),
        k.unit, 1 if k.unit == "percentunit" else 0, kpi_thresholds(k),
        description + f"; alerts need {k.min_samples} {k.sample_kpi.replace('_', ' ')}.", target=target,
    )


def kpi_thresholds(k: KpiTarget) -> Thresholds:
    """The spec's target and amber band as colours: red past the target, amber in the band."""
    if k.direction == "min":
        steps: list[tuple[float | None, Colour]] = [(None, "red"), (k.limit, "amber" if k.warn is not None else "green")]
        if k.warn is not None:
            steps.append((k.warn, "green"))
        return tuple(steps)
    steps = [(None, "green")]
    if k.warn is not None:
        steps.append((k.warn, "amber"))
    steps.append((k.limit, "red"))
    return tuple(steps)


def format_threshold(value: float, unit: Unit) -> str:
    """A threshold as people read it in `unit`: a ratio as a percent (0.95 -> 95%), seconds as a
    duration (14400 -> 4h), anything else as the shortest exact number."""
    if unit == "percentunit":
        return f"{value * 100:g}%"
    if unit == "s":
        return Duration(int(value * 1000)).human()
    return number(value)


def day_window(model: Model) -> str:
    """The worker's window of one day as its `window` label writes it (24h), else the longest."""
    same = [w for w in model.windows if Duration.parse(w) == DASHBOARD_SLI_WINDOW]
    return same[0] if same else max(model.windows, key=Duration.parse)


def _overall_source(name: str, window: str) -> Source:
    return Source(c.KPI_METRICS[name].name, match=((c.WINDOW_LABEL, window),), absent=BREAKDOWN_LABELS)


def grid_rows(count: int, per_row: int = 4) -> list[int]:
    """Tiles per row for `count` tiles, at most `per_row`, as even as possible (13 -> 4, 3, 3, 3)."""
    rows = math.ceil(count / per_row)
    return [count // rows + (1 if i < count % rows else 0) for i in range(rows)]
