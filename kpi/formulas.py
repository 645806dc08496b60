"""KPI rows: a `WindowView` in, named KPI values out, as `kpi.catalog` declares them.

The names are the contract (replay rows, metric names, spec keys); the catalog holds each
KPI's formula, this module decides which label sets get which rows and in what order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import NamedTuple

from kpi.aggregates import OVERALL, Bucket, GroupAgg
from kpi.catalog import CATALOG, Kpi, KpiInputs, Value, names, of_family, ratio
from kpi.series import WindowView

__all__ = [
    "ALL_KPIS", "CUSTOMER_KPIS", "FEATURE_KPIS", "ORDER_KPIS", "Row", "RowFormulas", "SURVEY_KPIS", "TICKET_KPIS",
    "kpi_rows", "ratio", "row_formulas", "survey_values", "ticket_values",
]

SURVEY_KPIS = names(of_family("survey"))
TICKET_KPIS = names(of_family("ticket"))
ORDER_KPIS = names(of_family("order"))
CUSTOMER_KPIS = names(of_family("customer"))
FEATURE_KPIS = names(of_family("feature"))
ALL_KPIS = names(CATALOG)

# (name, formula) pairs of the row groups, so the per-row loop touches no dataclass fields.
_Formulas = tuple[tuple[str, Callable[[KpiInputs], Value]], ...]


class RowFormulas(NamedTuple):
    """A catalog's formulas by the rows they make, each in catalog order: `overall` every
    KPI but the feature ones, `feature` one row per feature, `survey` and `ticket` per
    label set."""

    overall: _Formulas
    feature: _Formulas
    survey: _Formulas
    ticket: _Formulas


def row_formulas(kpis: Iterable[Kpi]) -> RowFormulas:
    """The formulas of `kpis` (a KPI catalog, `kpi.catalog.CATALOG` in production) by row."""
    kpis = tuple(kpis)

    def of(kept: Iterable[Kpi]) -> _Formulas:
        return tuple((k.name, k.value) for k in kept)

    return RowFormulas(
        of(k for k in kpis if k.family != "feature"),
        of(k for k in kpis if k.family == "feature"),
        of(k for k in kpis if k.family == "survey"),
        of(k for k in kpis if k.family == "ticket"),
    )


_CATALOG_ROWS = row_formulas(CATALOG)
_SURVEY = _CATALOG_ROWS.survey
_TICKET = _CATALOG_ROWS.ticket

# (kpi name, labels, value): labels {} overall, else one {dimension: value}; value None
# where the KPI is undefined (zero denominator).
Row = tuple[str, dict[str, str], Value]

_NO_VIEW = WindowView(0, 0, Bucket(), {}, {}, 0, 0, None)


def _values(formulas: _Formulas, x: KpiInputs) -> dict[str, Value]:
    return {name: value(x) for name, value in formulas}


def survey_values(g: GroupAgg) -> dict[str, Value]:
    """The survey KPIs of one label set's aggregates, by name."""
    return _values(_SURVEY, KpiInputs(g, 0, 0, _NO_VIEW, 0.0))


def ticket_values(g: GroupAgg, open_tickets: int, breached_open: int) -> dict[str, Value]:
    """The ticket KPIs of one label set: its aggregates and its open / breached-open tickets."""
    return _values(_TICKET, KpiInputs(g, open_tickets, breached_open, _NO_VIEW, 0.0))


def _rows(formulas: _Formulas, labels: dict[str, str], x: KpiInputs) -> Iterator[Row]:
    for name, value in formulas:
        yield (name, labels, value(x))


def kpi_rows(view: WindowView, formulas: RowFormulas = _CATALOG_ROWS) -> Iterator[Row]:
    """Every KPI of a window, in a fixed order: the overall rows (labels {}) in catalog
    order, then `adoption_ratio` per feature (sorted), then per label set (sorted) its
    survey rows if it has survey responses and its ticket rows if it has ticket activity
    or open tickets. `formulas`: the catalog's (`row_formulas` of another catalog in tests)."""
    flows = view.flows
    active = flows.active.count()
    open_tickets, breached = view.open_tickets, view.breached_open_tickets
    overall = flows.groups.get(OVERALL) or GroupAgg()
    yield from _rows(formulas.overall, {}, KpiInputs(overall, open_tickets.get(OVERALL, 0), breached.get(OVERALL, 0), view, active))
    for feature in sorted(flows.features):
        users = flows.features[feature]
        yield from _rows(formulas.feature, {"feature": feature}, KpiInputs(overall, 0, 0, view, active, users))
    keys = set(flows.groups) | set(open_tickets) | set(breached)
    keys.discard(OVERALL)
    for key in sorted(keys):
        g = flows.groups.get(key) or GroupAgg()
        labels = {key[0]: key[1]}
        x = KpiInputs(g, open_tickets.get(key, 0), breached.get(key, 0), view, active)
        if g.nps_n or g.csat_n or g.ces_n:
            yield from _rows(formulas.survey, labels, x)
        if g.created or g.resolved or g.first_response_n or key in open_tickets or key in breached:
            yield from _rows(formulas.ticket, labels, x)
