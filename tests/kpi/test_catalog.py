"""The KPI catalog is the one declaration: rows, metrics, spec checks and docs derive from it."""

from __future__ import annotations

import re

import pytest

from kpi import catalog, formulas
from kpi.aggregates import OVERALL, Bucket
from kpi.catalog import CATALOG, Kpi, markdown_table
from kpi.series import WindowView
from kpi.sketches import DistinctCounter
from streams import conventions
from streams.codegen import model
from streams.codegen.kpi_docs import BEGIN, DOCS, END, with_table


def test_names_and_metrics_are_unique_and_follow_prometheus_naming() -> None:
    assert len({k.name for k in CATALOG}) == len(CATALOG)
    assert len({k.metric for k in CATALOG}) == len(CATALOG)
    for k in CATALOG:
        assert re.fullmatch(r"[a-z][a-z0-9_]*", k.metric), k.name
        # Base units in the name: ratios end _ratio, times _seconds; counts never _total (gauges).
        if k.metric_unit == "ratio":
            assert k.metric.endswith("_ratio"), k.name
        if k.metric_unit == "seconds":
            assert k.metric.endswith("_seconds") and k.name.endswith("_seconds"), k.name
        assert not k.metric.endswith("_total"), k.name
        assert k.help and k.definition and "|" not in k.definition, k.name


def test_the_worker_exposes_exactly_the_catalog() -> None:
    # Before the catalog, nothing checked these lists agree: a KPI missing from the
    # metrics raised at scrape time.
    assert list(conventions.KPI_METRICS) == list(formulas.ALL_KPIS)
    assert conventions.KPI_METRICS["csat"] == conventions.KpiMetric("cxkpi_csat_ratio", catalog.BY_NAME["csat"].help, 0.01)
    assert conventions.CURRENCY_KPIS == {"revenue", "aov", "clv"}
    assert set(model.KPI_KINDS) == {k.name for k in CATALOG if k.target is not None}
    for name, kind in model.KPI_KINDS.items():
        assert kind.sample_kpi in catalog.BY_NAME  # the guard is itself a KPI with a gauge


def test_every_row_name_of_a_busy_window_is_in_the_catalog_and_every_kpi_has_a_row() -> None:
    flows = Bucket()
    for key in (OVERALL, ("team", "a"), ("priority", "low")):
        g = flows.group(key)
        g.nps_n = g.csat_n = g.ces_n = g.created = 1
    flows.active.add("c1")
    flows.features["export"] = DistinctCounter()
    flows.features["export"].add("c1")
    view = WindowView(0, 60, flows, {OVERALL: 1}, {}, 1, 0, 0.5)
    rows = list(formulas.kpi_rows(view))
    assert {name for name, _, _ in rows} == set(formulas.ALL_KPIS) == {k.name for k in CATALOG}
    # The overall rows come in catalog order.
    overall = [name for name, labels, _ in rows if not labels]
    assert overall == [k.name for k in CATALOG if k.family != "feature"]


def test_a_new_kpi_from_existing_aggregates_is_one_entry() -> None:
    # What a contributor would add: the entry alone gives its value in every window.
    entry = Kpi("survey_responses", "survey", "count", "survey_responses", "All survey responses",
                "NPS + CSAT + CES responses", lambda x: x.group.nps_n + x.group.csat_n + x.group.ces_n)
    flows = Bucket()
    g = flows.group(OVERALL)
    g.nps_n, g.csat_n, g.ces_n = 2, 3, 4  # 9 responses, by hand
    x = catalog.KpiInputs(g, 0, 0, WindowView(0, 60, flows, {}, {}, 0, 0, None), 0.0)
    assert entry.value(x) == 9
    assert entry.scale == 1.0 and entry.breakdowns == ("team", "channel")


@pytest.mark.parametrize(("unit", "scale", "metric_unit"), [("percent", 0.01, "ratio"), ("ratio", 1.0, "ratio"), ("seconds", 1.0, "seconds")])
def test_a_percent_is_exposed_as_a_ratio(unit, scale, metric_unit) -> None:
    k = Kpi("k", "survey", unit, "k", "h", "d", lambda x: None)
    assert (k.scale, k.metric_unit) == (scale, metric_unit)


def test_the_docs_table_is_the_catalog() -> None:
    text = DOCS.read_text()
    assert with_table(text, markdown_table()) == text, "docs/kpis.md is stale: run python -m streams.codegen.kpi_docs"
    table = text[text.index(BEGIN) + len(BEGIN):text.index(END)]
    documented = re.findall(r"^\| `([a-z0-9_]+)` \|", table, flags=re.M)
    assert documented == list(formulas.ALL_KPIS)


def test_a_changed_docs_table_is_detected() -> None:
    text = DOCS.read_text()
    tampered = text.replace("| `clv` |", "| `customer_lifetime_value` |")
    assert with_table(tampered, markdown_table()) != tampered
    with pytest.raises(ValueError, match="markers"):
        with_table("no table here", markdown_table())
