"""Shared dashboard building blocks on grafana-foundation-sdk: the datasource, queries,
stat/timeseries/table panels, spec thresholds as colours, and a grid layout that gives
every panel an explicit position and a unique id."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from grafana_foundation_sdk.builders import common as cb
from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.builders import prometheus, stat, table, timeseries
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import common as cm
from grafana_foundation_sdk.models import dashboard as dm
from grafana_foundation_sdk.models import prometheus as pm

from streams.codegen.dashboards import wall_tiles
from streams.codegen.model import Dashboard, KpiTarget, Model

GRID_WIDTH = 24
GREEN, AMBER, RED, BLUE = "green", "#EAB839", "red", "blue"
_COLOURS = {"green": GREEN, "amber": AMBER, "red": RED, "blue": BLUE}
NO_DATA = "NO DATA"


def datasource(model: Model) -> dm.DataSourceRef:
    """The Prometheus datasource every panel queries: the uid the spec's `grafana:` section gives
    (provisioned by `provisioning.datasources`)."""
    return dm.DataSourceRef(type_val="prometheus", uid=model.grafana.datasource_uid)


class Panels:
    """Builds panels for one dashboard: shared datasource, ids and grid positions."""

    def __init__(self, model: Model) -> None:
        self.model = model
        self.ds = datasource(model)
        self.items: list[tuple[str, Any]] = []
        self._x = self._y = self._row_height = 0
        self._next_id = 1

    # -- layout ----------------------------------------------------------------------
    def _position(self, builder: Any, w: int, h: int) -> Any:
        if self._x + w > GRID_WIDTH:
            self._newline()
        builder.grid_pos(dm.GridPos(h=h, w=w, x=self._x, y=self._y)).id(self._next_id)
        self._next_id += 1
        self._x += w
        self._row_height = max(self._row_height, h)
        return builder

    def _newline(self) -> None:
        self._y += self._row_height
        self._x = self._row_height = 0

    def row(self, title: str) -> None:
        """Start a new, expanded row titled `title` on its own grid line (full width, height 1);
        the following panels go below it."""
        if self._x:
            self._newline()
        row = db.Row(title).collapsed(False).grid_pos(dm.GridPos(h=1, w=GRID_WIDTH, x=0, y=self._y)).id(self._next_id)
        self._next_id += 1
        self._y += 1
        self.items.append(("row", row))

    def add(self, builder: Any, w: int, h: int) -> Any:
        """Place `builder` (a panel builder) at the next free grid position, `w` of 24 columns
        wide and `h` grid units high (a new line when it does not fit), with the dashboard's
        datasource and the next panel id; returns `builder`."""
        self.items.append(("panel", self._position(builder.datasource(self.ds), w, h)))
        return builder

    # -- queries ---------------------------------------------------------------------
    def query(self, expr: str, legend: str | None = None, ref: str = "A", *, instant: bool = False, table_format: bool = False):
        """A Prometheus query of `expr`: ref id `ref`, legend `legend` (Grafana's `{{label}}`
        template; None: Grafana's default), a range query unless `instant` or `table_format` (a
        table needs one instant sample per series)."""
        q = prometheus.Dataquery().expr(expr).ref_id(ref).datasource(self.ds)
        if legend is not None:
            q = q.legend_format(legend)
        if table_format:
            q = q.format(pm.PromQueryFormat.TABLE)
        return q.instant() if instant or table_format else q.range()

    # -- panels ----------------------------------------------------------------------
    def stat(self, title: str, expr: str, *, unit: str = "none", thresholds: list[tuple[float | None, str]] | None = None,
             description: str = "", decimals: int | None = None, legend: str | None = None, w: int = 6, h: int = 6,
             value_size: int | None = None, red_when_empty: bool = False) -> Any:
        """Add a stat panel: the last value of `expr` as one big number, its background coloured
        by `thresholds` ((lower bound or None for the base, colour) steps, ascending; one blue
        step when None), in Grafana `unit` ("percentunit", "s", "none"). `red_when_empty`: a
        query without series shows NO DATA in red rather than the base colour (a wall tile must
        not look healthy without data). Returns the panel builder."""
        panel = (
            stat.Panel()
            .title(title)
            .description(description)
            .with_target(self.query(expr, legend, instant=True))
            .unit(unit)
            .thresholds(steps(thresholds or [(None, BLUE)]))
            .color_mode(cm.BigValueColorMode.BACKGROUND)
            .graph_mode(cm.BigValueGraphMode.NONE)
            .justify_mode(cm.BigValueJustifyMode.CENTER)
            .text_mode(cm.BigValueTextMode.VALUE_AND_NAME if legend else cm.BigValueTextMode.VALUE)
            .reduce_options(cb.ReduceDataOptions().calcs(["lastNotNull"]).values(False))
        )
        if decimals is not None:
            panel = panel.decimals(decimals)
        if value_size is not None:
            panel = panel.text(cb.VizTextDisplayOptions().title_size(max(16, value_size // 3)).value_size(value_size))
        if red_when_empty:
            # Grafana renders a query without series as the value null, and runs it through
            # the mappings before the thresholds (displayProcessor): without this mapping an
            # empty tile takes the base step's colour, green or grey, and looks healthy.
            no_data = dm.ValueMappingResult(text=NO_DATA, color=RED, index=0)
            panel = panel.no_value(NO_DATA).mappings([
                dm.SpecialValueMap(dm.DashboardSpecialValueMapOptions(match=dm.SpecialValueMatch.NULL_AND_NAN, result=no_data)),
            ])
        return self.add(panel, w, h)

    def timeseries(self, title: str, queries: list[tuple[str, str]], *, unit: str = "none", description: str = "",
                   thresholds: list[tuple[float | None, str]] | None = None, w: int = 12, h: int = 8,
                   min_value: float | None = None, max_value: float | None = None) -> Any:
        """Add a time-series panel: one line per (expr, legend) of `queries` (ref ids A, B, ...),
        in `unit`, with `thresholds` drawn as dashed lines and optional fixed axis bounds
        `min_value`/`max_value`. Returns the panel builder."""
        panel = (
            timeseries.Panel()
            .title(title)
            .description(description)
            .unit(unit)
            .line_width(2)
            .fill_opacity(10)
            .legend(cb.VizLegendOptions().display_mode(cm.LegendDisplayMode.LIST).placement(cm.LegendPlacement.BOTTOM).show_legend(True))
        )
        for i, (expr, legend) in enumerate(queries):
            panel = panel.with_target(self.query(expr, legend, ref=chr(ord("A") + i)))
        if thresholds:
            panel = panel.thresholds(steps(thresholds)).thresholds_style(cb.GraphThresholdsStyleConfig().mode(cm.GraphThresholdsStyleMode.DASHED))
        if min_value is not None:
            panel = panel.min(min_value)
        if max_value is not None:
            panel = panel.max(max_value)
        return self.add(panel, w, h)

    def table(self, title: str, expr: str, *, value_name: str, description: str = "", unit: str = "none",
              thresholds: list[tuple[float | None, str]] | None = None, w: int = 12, h: int = 8) -> Any:
        """Add a table of `expr`'s series now (instant, one row per label set): the value column
        renamed `value_name`, the time column hidden, sorted by value descending, cells coloured
        by `thresholds` (default: green, red from 1). Returns the panel builder."""
        panel = (
            table.Panel()
            .title(title)
            .description(description)
            .with_target(self.query(expr, table_format=True))
            .unit(unit)
            .align(cm.FieldTextAlignment.AUTO)
            .inspect(False)
            .thresholds(steps(thresholds or [(None, GREEN), (1, RED)]))
            .with_transformation(dm.DataTransformerConfig(id_val="organize", options={
                "excludeByName": {"Time": True},
                "renameByName": {"Value": value_name},
            }))
            .sort_by([cb.TableSortByFieldState().display_name(value_name).desc(True)])
        )
        return self.add(panel, w, h)


def steps(pairs: Sequence[tuple[float | None, str]]) -> db.ThresholdsConfig:
    """Threshold steps; colours are Grafana's, or the tiles' names (amber -> Grafana's yellow)."""
    return db.ThresholdsConfig().mode(dm.ThresholdsMode.ABSOLUTE).steps(
        [dm.Threshold(value=v, color=_COLOURS.get(col, col)) for v, col in pairs]
    )


def kpi_thresholds(k: KpiTarget) -> list[tuple[float | None, str]]:
    """The spec's target and amber band as colours: red past the target, amber in the band."""
    return [(v, _COLOURS[col]) for v, col in wall_tiles.kpi_thresholds(k)]


def dashboard(model: Model, spec: Dashboard, panels: Panels, *, tags: list[str], description: str,
              variables: Sequence[Any] = (), links: Sequence[Any] = ()) -> dict[str, Any]:
    """Assemble and encode one dashboard as a plain dict (JSON-ready)."""
    builder = (
        db.Dashboard(spec.title)
        .uid(spec.uid)
        .description(description)
        .tags(["kpi-monitor", *tags])
        .readonly()
        .refresh(str(model.grafana.refresh))
        .time(f"now-{spec.time_range}", "now")
        .timezone("browser")
        .tooltip(dm.DashboardCursorSync.CROSSHAIR)
    )
    for variable in variables:
        builder = builder.with_variable(variable)
    for link in links:
        builder = builder.link(link)
    for kind, item in panels.items:
        builder = builder.with_row(item) if kind == "row" else builder.with_panel(item)
    return json.loads(json.dumps(builder.build(), cls=JSONEncoder))


def dashboard_links(model: Model) -> list[Any]:
    """Links between the three dashboards (by tag)."""
    return [db.DashboardLink("KPI dashboards").type(dm.DashboardLinkType.DASHBOARDS).tags(["kpi-monitor"]).as_dropdown(True).keep_time(True).include_vars(False)]
