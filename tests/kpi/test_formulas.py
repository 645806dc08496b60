"""KPI formulas on hand-built aggregates: names, nulls on zero denominators, row shape."""

from __future__ import annotations

import pytest

from kpi import formulas
from kpi.aggregates import OVERALL, Bucket, GroupAgg
from kpi.formulas import ALL_KPIS, kpi_rows, ratio, survey_values, ticket_values
from kpi.series import WindowView


def view(flows: Bucket | None = None, *, open_tickets=None, breached=None, base=0, churned=0, stickiness=None) -> WindowView:
    return WindowView(0, 3600, flows or Bucket(), open_tickets or {}, breached or {}, base, churned, stickiness)


def rows_dict(v: WindowView) -> dict:
    out = {}
    for kpi, labels, value in kpi_rows(v):
        key = (kpi, tuple(sorted(labels.items())))
        assert key not in out
        out[key] = value
    return out


@pytest.mark.parametrize(("num", "den", "expected"), [(1, 2, 0.5), (0, 5, 0.0), (3, 0, None), (0, 0, None), (-1, 4, -0.25)])
def test_ratio(num, den, expected) -> None:
    assert ratio(num, den) == expected


def test_survey_values_by_hand() -> None:
    g = GroupAgg()
    # 7 NPS answers: 3 promoters, 2 detractors -> 100 * 1 / 7; CSAT 3 of 4 satisfied -> 75; CES 11 / 3
    g.nps_n, g.nps_promoters, g.nps_detractors = 7, 3, 2
    g.csat_n, g.csat_satisfied = 4, 3
    g.ces_n, g.ces_sum = 3, 11
    assert survey_values(g) == {
        "nps": pytest.approx(100 / 7), "nps_responses": 7, "csat": 75.0, "csat_responses": 4,
        "ces": pytest.approx(11 / 3), "ces_responses": 3,
    }
    assert survey_values(GroupAgg()) == {
        "nps": None, "nps_responses": 0, "csat": None, "csat_responses": 0, "ces": None, "ces_responses": 0,
    }


def test_ticket_values_by_hand() -> None:
    g = GroupAgg()
    # resolutions 60 s (fcr), 180 s (breach), 240 s (fcr): mean 160, fcr 2/3, breach 1/3
    g.add_resolution(60, fcr=True, breached=False)
    g.add_resolution(180, fcr=False, breached=True)
    g.add_resolution(240, fcr=True, breached=False)
    g.created = 5
    g.add_first_response(30)
    g.add_first_response(90)
    values = ticket_values(g, open_tickets=4, breached_open=1)
    assert values["tickets_created"] == 5
    assert values["tickets_resolved"] == 3
    assert values["resolution_time_mean_seconds"] == 160.0
    assert values["resolution_time_p50_seconds"] == pytest.approx(180.0, rel=0.005)  # rank 2 of 3, from the sketch
    assert values["resolution_time_p95_seconds"] == 240.0  # rank 3: the max, exact
    assert values["first_response_time_mean_seconds"] == 60.0
    assert values["first_response_time_p50_seconds"] == 30.0  # rank 1: the min, exact
    assert values["fcr_ratio"] == pytest.approx(2 / 3)
    assert values["sla_breach_ratio"] == pytest.approx(1 / 3)
    assert (values["open_tickets"], values["sla_breached_open_tickets"]) == (4, 1)
    empty = ticket_values(GroupAgg(), 0, 0)
    assert {k for k, v in empty.items() if v is None} == {
        "resolution_time_mean_seconds", "resolution_time_p50_seconds", "resolution_time_p90_seconds",
        "resolution_time_p95_seconds", "first_response_time_mean_seconds", "first_response_time_p50_seconds",
        "first_response_time_p90_seconds", "first_response_time_p95_seconds", "fcr_ratio", "sla_breach_ratio",
    }


def test_order_and_customer_values_by_hand() -> None:
    b = Bucket()
    b.checkouts, b.orders, b.revenue_micros = 8, 4, 100_000_000  # revenue 100
    for c in ["x", "y"]:
        b.ordering_customers.add(c)
    for c in ["x", "y", "z", "w", "v"]:
        b.active.add(c)
    # base 10, 2 churned: churn 0.2; aov 25; frequency 4 / 2 = 2; clv 25 * 2 / 0.2 = 250
    rows = rows_dict(view(b, base=10, churned=2, stickiness=0.25))
    assert rows[("checkouts", ())] == 8
    assert rows[("orders", ())] == 4
    assert rows[("conversion_ratio", ())] == 0.5
    assert rows[("revenue", ())] == 100.0
    assert rows[("aov", ())] == 25.0
    assert rows[("clv", ())] == pytest.approx(250.0)
    assert rows[("churn_ratio", ())] == 0.2
    assert rows[("retention_ratio", ())] == 0.8
    assert rows[("active_customers", ())] == 5
    assert rows[("stickiness_ratio", ())] == 0.25


@pytest.mark.parametrize(
    ("base", "churned", "clv_is_null"),
    [(0, 0, True), (10, 0, True), (10, 1, False)],
)
def test_clv_is_null_when_churn_is_zero_or_undefined(base, churned, clv_is_null) -> None:
    b = Bucket()
    b.orders, b.revenue_micros = 1, 5_000_000
    b.ordering_customers.add("x")
    rows = rows_dict(view(b, base=base, churned=churned))
    assert (rows[("clv", ())] is None) == clv_is_null
    if not clv_is_null:
        assert rows[("clv", ())] == 50.0  # 5 * 1 / 0.1


def test_an_empty_window_has_every_overall_kpi() -> None:
    rows = rows_dict(view())
    assert {k for k, _ in rows} == set(ALL_KPIS) - {"adoption_ratio"}
    assert all(labels == () for _, labels in rows)
    assert rows[("nps", ())] is None
    assert rows[("conversion_ratio", ())] is None
    assert rows[("churn_ratio", ())] is None
    assert rows[("retention_ratio", ())] is None
    assert rows[("active_customers", ())] == 0
    assert rows[("revenue", ())] == 0.0


def test_overall_rows_come_first_and_label_rows_are_sorted() -> None:
    b = Bucket()
    b.group(OVERALL).created = 2
    b.group(("team", "zeta")).created = 1
    b.group(("team", "alpha")).created = 1
    b.group(("channel", "chat")).nps_n = 1
    b.active.add("a")
    b.features["reports"] = type(b.active)()
    b.features["reports"].add("a")
    rows = list(kpi_rows(view(b, open_tickets={("priority", "low"): 1})))
    label_sets = [tuple(labels.items()) for _, labels, _ in rows]
    # Overall rows first, then adoption per feature, then each label set in sorted order, never interleaved.
    runs = [lab for i, lab in enumerate(label_sets) if i == 0 or lab != label_sets[i - 1]]
    assert runs == [(), (("feature", "reports"),), (("channel", "chat"),), (("priority", "low"),),
                    (("team", "alpha"),), (("team", "zeta"),)]
    # A label set with only surveys gets survey rows only; with only an open ticket, ticket rows only.
    chat = {k for k, lab, _ in rows if lab == {"channel": "chat"}}
    assert chat == set(formulas.SURVEY_KPIS)
    low = {k for k, lab, _ in rows if lab == {"priority": "low"}}
    assert low == set(formulas.TICKET_KPIS)


def test_kpi_names_are_the_contract() -> None:
    assert set(ALL_KPIS) == {
        "nps", "nps_responses", "csat", "csat_responses", "ces", "ces_responses",
        "tickets_created", "tickets_resolved",
        "resolution_time_mean_seconds", "resolution_time_p50_seconds", "resolution_time_p90_seconds",
        "resolution_time_p95_seconds",
        "first_response_time_mean_seconds", "first_response_time_p50_seconds", "first_response_time_p90_seconds",
        "first_response_time_p95_seconds",
        "fcr_ratio", "sla_breach_ratio", "open_tickets", "sla_breached_open_tickets",
        "checkouts", "orders", "conversion_ratio", "revenue", "aov", "clv",
        "churn_ratio", "retention_ratio", "active_customers", "stickiness_ratio", "adoption_ratio",
    }
    assert len(ALL_KPIS) == len(set(ALL_KPIS))
