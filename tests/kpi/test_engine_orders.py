"""Order KPIs per window, worked out by hand: checkouts, orders, conversion, revenue, AOV, CLV."""

from __future__ import annotations

import pytest

from .kpi_testkit import DAY0, HOUR, active, checkout, churned, order, run, signed_up

T = DAY0

SCENARIO = [
    # Window 0: a, b, c, d sign up (base of window 1 = 4). Checkouts 4; orders a 10.00, a 15.50, b 4.50.
    signed_up("a", T + 1), signed_up("b", T + 2), signed_up("c", T + 3), signed_up("d", T + 4),
    checkout("a", T + 10), checkout("a", T + 11), checkout("b", T + 12), checkout("c", T + 13),
    order("o1", "a", 10.00, T + 20), order("o2", "a", 15.50, T + 21), order("o3", "b", 4.50, T + 22),
    # Window 1: a churns (1 of 4 -> 0.25). 6 checkouts; orders b 20, b 30, c 10.
    churned("a", T + HOUR + 1),
    *[checkout("b", T + HOUR + 10 + i) for i in range(6)],
    order("o4", "b", 20, T + HOUR + 20), order("o5", "b", 30, T + HOUR + 21), order("o6", "c", 10, T + HOUR + 22),
    # Window 2: base {b, c, d}, no churn (0.0). One order by d for 5, no checkout.
    order("o7", "d", 5, T + 2 * HOUR + 1),
    # Window 3: only activity: no checkouts, no orders.
    active("b", T + 3 * HOUR + 1),
]


@pytest.mark.parametrize(
    ("window", "kpi", "expected"),
    [
        # window 0
        (0, "checkouts", 4),
        (0, "orders", 3),
        (0, "conversion_ratio", 0.75),  # 3 / 4
        (0, "revenue", 30.0),  # 10 + 15.5 + 4.5
        (0, "aov", 10.0),  # 30 / 3
        (0, "clv", None),  # churn ratio undefined (base 0)
        # window 1: revenue 60, aov 20, buyers {b, c} -> frequency 3 / 2; churn 1/4
        (1, "checkouts", 6),
        (1, "orders", 3),
        (1, "conversion_ratio", 0.5),  # 3 / 6
        (1, "revenue", 60.0),
        (1, "aov", 20.0),
        (1, "clv", 120.0),  # 20 * 1.5 / 0.25
        # window 2: churn 0 -> clv null; no checkouts -> conversion null
        (2, "checkouts", 0),
        (2, "orders", 1),
        (2, "conversion_ratio", None),
        (2, "revenue", 5.0),
        (2, "aov", 5.0),
        (2, "clv", None),
        # window 3: nothing sold
        (3, "orders", 0),
        (3, "revenue", 0.0),
        (3, "aov", None),
        (3, "conversion_ratio", None),
        (3, "clv", None),
    ],
)
def test_order_kpis_by_hand(window: int, kpi: str, expected) -> None:
    result = run(SCENARIO)
    assert result.rejects == []
    value = result.value(kpi, window)
    if expected is None:
        assert value is None
    else:
        assert value == pytest.approx(expected, rel=1e-12)


def test_clv_with_a_nonzero_churn_in_a_different_shape() -> None:
    # base 2 (x, y sign up in window 0); y churns in window 1 -> churn 0.5.
    # Window 1 orders: x 7.0, x 3.0, y 2.0, z 8.0 -> revenue 20, aov 5, buyers {x, y, z}: frequency 4/3.
    # clv = 5 * (4/3) / 0.5 = 40/3.
    events = [
        signed_up("x", T + 1), signed_up("y", T + 2),
        churned("y", T + HOUR + 1),
        order("p1", "x", 7.0, T + HOUR + 2), order("p2", "x", 3.0, T + HOUR + 3),
        order("p3", "y", 2.0, T + HOUR + 4), order("p4", "z", 8.0, T + HOUR + 5),
    ]
    result = run(events)
    assert result.value("churn_ratio", 1) == 0.5
    assert result.value("clv", 1) == pytest.approx(40 / 3, rel=1e-12)


def test_revenue_is_exact_in_cents() -> None:
    # Float addition would give 0.30000000000000004; revenue is summed exactly.
    result = run([order("a", "c", 0.1, T + 1), order("b", "c", 0.2, T + 2)])
    assert result.value("revenue") == 0.3
    cents = [19.99] * 3 + [0.01] * 7  # 59.97 + 0.07
    result = run([order(f"o{i}", "c", amount, T + i) for i, amount in enumerate(cents)])
    assert result.value("revenue") == 60.04


def test_conversion_may_exceed_one_and_zero_amount_orders_count() -> None:
    # 2 orders (one of 0.0), 1 checkout -> conversion 2.0, revenue 12, aov 6.
    result = run([checkout("a", T + 1), order("o1", "a", 12, T + 2), order("o2", "a", 0, T + 3)])
    assert result.value("conversion_ratio") == 2.0
    assert result.value("aov") == 6.0


def test_foreign_currency_is_converted_when_a_rate_is_configured() -> None:
    # 10 EUR at 1.1 = 11 USD; 1000 JPY at 0.0067 = 6.7 USD; 2.3 USD. Revenue 20, aov 20/3.
    events = [order("o1", "a", 10, T + 1, currency="EUR"), order("o2", "b", 1000, T + 2, currency="JPY"),
              order("o3", "c", 2.3, T + 3)]
    result = run(events, fx_rates={"EUR": 1.1, "JPY": 0.0067})
    assert result.rejects == []
    assert result.value("revenue") == pytest.approx(20.0, rel=1e-12)
    assert result.value("aov") == pytest.approx(20 / 3, rel=1e-12)
    # Without a rate, foreign orders are rejected and do not count.
    plain = run(events)
    assert plain.reasons() == ["unsupported_currency", "unsupported_currency"]
    assert plain.value("orders") == 1
    assert plain.value("revenue") == 2.3


def test_orders_have_overall_rows_only() -> None:
    result = run(SCENARIO)
    for kpi in ("checkouts", "orders", "conversion_ratio", "revenue", "aov", "clv"):
        assert result.label_sets(kpi, 1) == {()}


def test_huge_amounts_neither_crash_nor_lose_the_window() -> None:
    # 1e302 is a valid amount (finite, >= 0); two of them sum to 2e308 micro-units, more than a float holds.
    result = run([order("a", "c", 1e302, T + 1), order("b", "c", 1e302, T + 2), order("c", "c", 1e308, T + 3)])
    assert result.reasons() == ["out_of_range"]  # 1e308 overflows once in micro-units
    assert result.value("orders") == 2
    assert result.value("revenue") == pytest.approx(2e302, rel=1e-9)
    assert result.value("aov") == pytest.approx(1e302, rel=1e-9)
