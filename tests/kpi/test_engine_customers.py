"""Customer KPIs per window, worked out by hand: churn, retention, activity, adoption, stickiness."""

from __future__ import annotations

import pytest

from .kpi_testkit import DAY, DAY0, HOUR, active, by_ts, churned, run, signed_up, used

T = DAY0


def test_churn_and_retention_by_hand() -> None:
    # Window 0: a, b, c, d sign up. Base at the start of window 0: nobody -> churn null.
    # Window 1: base = {a, b, c, d} = 4; a churns; e signs up and churns in the same window (not in the base).
    #           churn = 1/4 = 0.25, retention 0.75.
    # Window 2: base = {b, c, d} = 3 (e churned before the start); b churns twice (the second is ignored),
    #           f churns without ever signing up (not in the base) -> 1/3.
    # Window 3: base = {c, d} = 2, nobody churns -> 0.0, retention 1.0.
    events = [
        signed_up("a", T + 1), signed_up("b", T + 2), signed_up("c", T + 3), signed_up("d", T + 4),
        churned("a", T + HOUR + 10), signed_up("e", T + HOUR + 20), churned("e", T + HOUR + 30),
        churned("b", T + 2 * HOUR + 1), churned("b", T + 2 * HOUR + 2), churned("f", T + 2 * HOUR + 3),
        active("c", T + 3 * HOUR + 1),
    ]
    result = run(events)
    assert result.rejects == []
    assert result.windows() == [0, 1, 2, 3]
    assert result.value("churn_ratio", 0) is None
    assert result.value("retention_ratio", 0) is None
    assert result.value("churn_ratio", 1) == 0.25
    assert result.value("retention_ratio", 1) == 0.75
    assert result.value("churn_ratio", 2) == pytest.approx(1 / 3)
    assert result.value("retention_ratio", 2) == pytest.approx(2 / 3)
    assert result.value("churn_ratio", 3) == 0.0
    assert result.value("retention_ratio", 3) == 1.0


def test_signup_exactly_at_window_start_is_not_in_that_windows_base() -> None:
    # a signs up at 0 (window 0); b at exactly 1h (window 1, so not "before the window's start").
    # Both churn in window 1: only a was in the base -> 1/1.
    events = [signed_up("a", T), signed_up("b", T + HOUR), churned("a", T + HOUR + 5), churned("b", T + HOUR + 6)]
    result = run(events)
    assert result.value("churn_ratio", 1) == 1.0
    assert result.value("churn_ratio", 0) is None


def test_resignup_after_churn_rejoins_the_base() -> None:
    # a: signs up (w0), churns (w1), signs up again (w2), churns again (w3).
    # b: signs up (w0), stays. Base: w1 {a,b}=2 -> 1/2; w2 {b}=1 -> 0; w3 {a,b}=2 -> 1/2.
    # A repeated signup while a member changes nothing (b at w1).
    events = [
        signed_up("a", T + 1), signed_up("b", T + 2),
        churned("a", T + HOUR + 1), signed_up("b", T + HOUR + 2),
        signed_up("a", T + 2 * HOUR + 1),
        churned("a", T + 3 * HOUR + 1),
    ]
    result = run(events)
    assert [result.value("churn_ratio", k) for k in range(4)] == [None, 0.5, 0.0, 0.5]


def test_active_customers_and_feature_adoption() -> None:
    # Window 0: a uses export twice, b uses export, a uses reports, c is active (no feature),
    #           a is also active. Distinct active {a, b, c} = 3.
    #   adoption export = |{a, b}| / 3, reports = |{a}| / 3.
    # Window 1: d uses reports: active 1, adoption reports 1/1; export has no row in window 1.
    events = [
        used("a", "export", T + 1), used("a", "export", T + 2), used("b", "export", T + 3),
        used("a", "reports", T + 4), active("c", T + 5), active("a", T + 6),
        used("d", "reports", T + HOUR + 1),
    ]
    result = run(events)
    assert result.value("active_customers", 0) == 3
    assert result.value("adoption_ratio", 0, feature="export") == pytest.approx(2 / 3)
    assert result.value("adoption_ratio", 0, feature="reports") == pytest.approx(1 / 3)
    assert result.value("active_customers", 1) == 1
    assert result.value("adoption_ratio", 1, feature="reports") == 1.0
    assert not result.has("adoption_ratio", 1, feature="export")


def test_no_activity_gives_zero_active_and_no_adoption_rows() -> None:
    result = run([signed_up("a", T + 1)])
    assert result.windows() == [0]
    assert result.value("active_customers", 0) == 0
    assert result.label_sets("adoption_ratio", 0) == set()
    assert result.value("stickiness_ratio", 0) is None  # nobody active in the last 30 days


def test_stickiness_with_daily_windows() -> None:
    # 1-day windows. Day 0: a, b, c active. Day 1: a. Day 2: a, d. Day 31: e.
    #   end of day 0: DAU {a,b,c}=3 / MAU {a,b,c}=3 = 1.0
    #   end of day 1: DAU {a}=1 / MAU {a,b,c}=3
    #   end of day 2: DAU {a,d}=2 / MAU {a,b,c,d}=4 = 0.5
    #   end of day 3: DAU {} = 0 / MAU 4 = 0.0
    #   end of day 29: MAU covers days 0..29 -> 4, DAU 0 -> 0.0
    #   end of day 30: MAU covers days 1..30 -> {a, d} = 2 (b, c were last active on day 0), DAU 0 -> 0.0
    #   end of day 31: MAU days 2..31 -> {a, d, e} = 3, DAU {e} = 1 -> 1/3
    events = [
        active("a", T + 10), active("b", T + 20), used("c", "export", T + 30),
        active("a", T + DAY + 10),
        active("a", T + 2 * DAY + 10), used("d", "reports", T + 2 * DAY + 20),
        active("e", T + 31 * DAY + 10),
    ]
    result = run(events, window_seconds=DAY)
    assert result.windows() == list(range(32))
    assert result.value("stickiness_ratio", 0) == 1.0
    assert result.value("stickiness_ratio", 1) == pytest.approx(1 / 3)
    assert result.value("stickiness_ratio", 2) == 0.5
    assert result.value("stickiness_ratio", 3) == 0.0
    assert result.value("stickiness_ratio", 29) == 0.0
    assert result.value("stickiness_ratio", 31) == pytest.approx(1 / 3)
    assert result.value("active_customers", 31) == 1


def test_stickiness_with_hourly_windows_uses_trailing_day_and_month() -> None:
    # 1-hour windows. a active in hour 0; b active in hour 25; a active again in hour 26.
    #   end of hour 0 (1h):  DAU [-23h, 1h) {a} / MAU {a} = 1.0
    #   end of hour 24 (25h): DAU [1h, 25h) {} -> 0 / MAU {a} -> 0.0
    #   end of hour 25 (26h): DAU [2h, 26h) {b} / MAU {a, b} = 0.5
    #   end of hour 26 (27h): DAU {a, b} / MAU {a, b} = 1.0
    events = [active("a", T + 10), active("b", T + 25 * HOUR + 10), active("a", T + 26 * HOUR + 10)]
    result = run(events)
    assert result.value("stickiness_ratio", 0) == 1.0
    assert result.value("stickiness_ratio", 23) == 1.0  # end 24h: DAU [0h, 24h) still holds a
    assert result.value("stickiness_ratio", 24) == 0.0
    assert result.value("stickiness_ratio", 25) == 0.5
    assert result.value("stickiness_ratio", 26) == 1.0


def test_a_window_with_only_signups_is_reported() -> None:
    # The first and the last window hold nothing but signups; each event's window must be reported.
    events = [signed_up("a", T + 10), active("a", T + HOUR + 10), signed_up("b", T + 2 * HOUR + 10)]
    result = run(events)
    assert result.windows() == [0, 1, 2]
    assert result.value("active_customers", 1) == 1
    assert result.value("churn_ratio", 2) == 0.0  # base {a} (b signed up inside window 2)


@pytest.mark.parametrize("arrival", [[0, 1, 2, 3], [0, 2, 1, 3]])
def test_churn_does_not_depend_on_arrival_order_within_grace(arrival: list[int]) -> None:
    # c signs up 100 s before the end of window 0 and churns 50 s into window 1; with 5 min
    # grace the churn may arrive first. Window 1: base {a, c} = 2, c churned -> 0.5.
    # Window 2: base {a} -> 0.0 (c must not come back).
    events = by_ts([
        signed_up("a", T + 10), signed_up("c", T + HOUR - 100), churned("c", T + HOUR + 50),
        active("a", T + 2 * HOUR + 10),
    ])
    result = run([events[i] for i in arrival])
    assert result.rejects == []
    assert result.value("churn_ratio", 1) == 0.5
    assert result.value("churn_ratio", 2) == 0.0


def test_resignup_order_within_grace_does_not_matter() -> None:
    # a signs up, churns 60 s later, signs up again 60 s after that; b is a long-standing member.
    # Sorted: a's last spell starts at 1h-60 (window 0), so window 1's base is {a, b} = 2;
    # a churns again in window 1 -> 1/2.
    base = [signed_up("b", T + 1)]
    a = [signed_up("a", T + HOUR - 180), churned("a", T + HOUR - 120), signed_up("a", T + HOUR - 60)]
    tail = [churned("a", T + HOUR + 30), active("b", T + 2 * HOUR)]
    expected = run(base + a + tail)
    assert expected.value("churn_ratio", 1) == 0.5
    for permutation in ([a[2], a[1], a[0]], [a[1], a[0], a[2]], [a[0], a[2], a[1]], [a[2], a[0], a[1]]):
        assert run(base + permutation + tail).rows == expected.rows
