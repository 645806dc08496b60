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
from streams.codegen import kpi_docs, model
from streams.codegen.kpi_docs import KPI_TABLE, METRICS_TABLE, TABLES, metrics_table, regenerated, with_table


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


def test_a_new_kpi_from_existing_aggregates_is_one_entry(monkeypatch) -> None:
    # What a contributor would add: one entry in the catalog. Everything that derives from
    # the catalog, derived again from the extended one, carries the new KPI.
    entry = Kpi("resolution_ratio", "ticket", "ratio", "resolution_ratio", "Resolutions / tickets created in the trailing window",
                "ticket resolutions / tickets created", lambda x: catalog.ratio(x.group.resolved, x.group.created),
                catalog.Target("tickets_created", 0.0, None))
    extended = (*CATALOG, entry)
    monkeypatch.setattr(catalog, "CATALOG", extended)
    monkeypatch.setattr(catalog, "BY_NAME", {k.name: k for k in extended})

    flows = Bucket()
    overall, billing = flows.group(OVERALL), flows.group(("team", "billing"))
    overall.created, overall.resolved = 4, 3  # 3 / 4 = 0.75, by hand
    billing.created, billing.resolved = 2, 2  # 2 / 2 = 1.0
    view = WindowView(0, 60, flows, {}, {}, 0, 0, None)
    rows = list(formulas.kpi_rows(view, formulas.row_formulas(catalog.CATALOG)))
    assert ("resolution_ratio", {}, 0.75) in rows
    assert ("resolution_ratio", {"team": "billing"}, 1.0) in rows
    # It comes after every other overall row (its place in the catalog).
    assert [name for name, labels, _ in rows if not labels][-1] == "resolution_ratio"

    metrics = conventions.kpi_metrics(catalog.CATALOG)
    assert metrics["resolution_ratio"] == conventions.KpiMetric(
        "cxkpi_resolution_ratio", "Resolutions / tickets created in the trailing window", 1.0)
    kind = model.kpi_kinds(catalog.CATALOG)["resolution_ratio"]
    assert (kind.low, kind.high, kind.unit, kind.sample_kpi) == (0.0, None, "percentunit", "tickets_created")
    assert kind.breakdowns == ("team", "channel", "priority")
    assert "| `resolution_ratio` | ratio | `resolution_ratio` | overall, team, channel, priority | 0.., `tickets_created` |" \
        in markdown_table()
    assert "| `resolution_ratio` | `cxkpi_resolution_ratio` | Resolutions / tickets created in the trailing window |" \
        in metrics_table(metrics)
    # And what runs in production is derived by these same functions from the catalog.
    assert list(formulas.kpi_rows(view)) == list(formulas.kpi_rows(view, formulas.row_formulas(CATALOG)))
    assert conventions.KPI_METRICS == conventions.kpi_metrics(CATALOG)
    assert model.KPI_KINDS == model.kpi_kinds(CATALOG)


@pytest.mark.parametrize(("unit", "scale", "metric_unit"), [("percent", 0.01, "ratio"), ("ratio", 1.0, "ratio"), ("seconds", 1.0, "seconds")])
def test_a_percent_is_exposed_as_a_ratio(unit, scale, metric_unit) -> None:
    k = Kpi("k", "survey", unit, "k", "h", "d", lambda x: None)
    assert (k.scale, k.metric_unit) == (scale, metric_unit)


@pytest.mark.parametrize("table", TABLES, ids=lambda t: t.doc.name)
def test_the_docs_tables_are_the_catalog(table) -> None:
    current, wanted = regenerated(table)
    assert wanted == current, f"{table.doc} is stale: run python -m streams.codegen.kpi_docs"
    generated = current[current.index(table.begin) + len(table.begin):current.index(table.end)]
    documented = re.findall(r"^\| `([a-z0-9_]+)` \|", generated, flags=re.M)
    assert documented == list(formulas.ALL_KPIS)


def test_the_metrics_table_names_what_the_worker_exposes() -> None:
    generated = metrics_table()
    assert "| `csat` | `cxkpi_csat_ratio` | Share of CSAT responses scoring 4 or 5 (0-1) (replay value x 0.01) |" in generated
    assert "| `open_tickets` | `cxkpi_window_open_tickets` |" in generated


@pytest.mark.parametrize("table", TABLES, ids=lambda t: t.doc.name)
def test_a_changed_docs_table_is_detected(table) -> None:
    text = table.doc.read_text()
    tampered = text.replace("| `clv` |", "| `customer_lifetime_value` |")
    assert tampered != text
    assert with_table(tampered, table.render(), table.begin, table.end) != tampered
    with pytest.raises(ValueError, match="markers"):
        with_table("no table here", table.render(), table.begin, table.end)


def test_the_check_fails_on_a_stale_table(monkeypatch, tmp_path, capsys) -> None:
    doc = tmp_path / "metrics.md"
    doc.write_text(f"# Metrics\n{METRICS_TABLE.begin}\n| stale |\n{METRICS_TABLE.end}\nprose\n")
    monkeypatch.setattr(kpi_docs, "TABLES", (KPI_TABLE, METRICS_TABLE._replace(doc=doc)))
    assert kpi_docs.main(["--check"]) == 1
    assert "metrics.md" in capsys.readouterr().err
    assert kpi_docs.main([]) == 0  # rewrites it
    assert doc.read_text() == f"# Metrics\n{METRICS_TABLE.begin}\n{metrics_table()}{METRICS_TABLE.end}\nprose\n"
    assert kpi_docs.main(["--check"]) == 0
