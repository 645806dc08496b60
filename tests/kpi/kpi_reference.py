"""A deliberately naive reference implementation of the KPI specification.

Lists of events in, every KPI of every window out, by brute force: for each window it
re-scans every event, sorts lists for percentiles and builds sets for distinct counts.
It shares no code with `kpi/` beyond nothing at all: timestamps are given as seconds.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

DAY = 86_400
DEFAULT_SLA = {"urgent": 4 * 3600, "high": 8 * 3600, "normal": 24 * 3600, "low": 72 * 3600}
SURVEY_TYPES = ("survey.nps", "survey.csat", "survey.ces")
TICKET_DIMS = ("team", "channel", "priority")
PERCENTILES = (("p50", 0.50), ("p90", 0.90), ("p95", 0.95))

Timed = tuple[float, dict[str, Any]]  # (seconds since the epoch, event)


def nearest_rank(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q * len(ordered))) - 1]


def div(num: float, den: float) -> float | None:
    return None if den == 0 else num / den


def mean(values: list[float]) -> float | None:
    return div(sum(values), len(values))


def reference_rows(
    timed: list[Timed],
    window_seconds: int,
    sla: dict[str, float] | None = None,
    group_by: tuple[str, ...] = TICKET_DIMS,
) -> dict[tuple[str, int, tuple[tuple[str, str], ...]], Any]:
    """Every KPI row {(kpi, window_start, labels): value} for accepted, de-duplicated events."""
    sla = {**DEFAULT_SLA, **(sla or {})}
    W = window_seconds
    events = sorted(timed, key=lambda te: te[0])
    first = math.floor(events[0][0] / W)
    last = math.floor(events[-1][0] / W)

    # Ticket histories: ticket id -> list of (t, event) in time order.
    tickets: dict[str, list[Timed]] = defaultdict(list)
    for t, e in events:
        if e["type"].startswith("ticket."):
            tickets[e["ticket_id"]].append((t, e))
    ticket_keys = {}
    for tid, history in tickets.items():
        created = history[0][1]
        assert created["type"] == "ticket.created"
        ticket_keys[tid] = [()] + [(dim, created[dim]) for dim in group_by]

    # Customer lifecycles: customer id -> [(t, 0 signup | 1 churn)] sorted (signup first on ties).
    lifecycle: dict[str, list[tuple[float, int]]] = defaultdict(list)
    for t, e in events:
        if e["type"] == "customer.signed_up":
            lifecycle[e["customer_id"]].append((t, 0))
        elif e["type"] == "customer.churned":
            lifecycle[e["customer_id"]].append((t, 1))
    for steps in lifecycle.values():
        steps.sort()

    def member_at(customer: str, instant: float) -> bool:
        member = False
        for t, kind in lifecycle[customer]:
            if t >= instant:
                break
            member = kind == 0
        return member

    def active_between(lo: float, hi: float) -> set[str]:
        return {e["customer_id"] for t, e in events
                if lo <= t < hi and e["type"] in ("customer.active", "feature.used")}

    out: dict[tuple[str, int, tuple[tuple[str, str], ...]], Any] = {}

    for k in range(first, last + 1):
        S, E = k * W, (k + 1) * W
        inside = [(t, e) for t, e in events if S <= t < E]

        def put(kpi: str, value: Any, labels: tuple[tuple[str, str], ...] = ()) -> None:
            out[(kpi, S, labels)] = value

        # --- surveys ---------------------------------------------------------------------
        surveys: dict[tuple, list[dict]] = defaultdict(list)
        for t, e in inside:
            if e["type"] in SURVEY_TYPES:
                surveys[()].append(e)
                for dim in ("team", "channel"):
                    if dim in group_by and e.get(dim) is not None:
                        surveys[(dim, e[dim])].append(e)
        for key in set(surveys) | {()}:
            labels = (key,) if key else ()
            es = surveys.get(key, [])
            n = [e["score"] for e in es if e["type"] == "survey.nps"]
            c = [e["score"] for e in es if e["type"] == "survey.csat"]
            x = [e["score"] for e in es if e["type"] == "survey.ces"]
            put("nps", div(100 * (sum(s >= 9 for s in n) - sum(s <= 6 for s in n)), len(n)), labels)
            put("nps_responses", len(n), labels)
            put("csat", div(100 * sum(s >= 4 for s in c), len(c)), labels)
            put("csat_responses", len(c), labels)
            put("ces", mean(x), labels)
            put("ces_responses", len(x), labels)

        # --- tickets ---------------------------------------------------------------------
        created_n: dict[tuple, int] = defaultdict(int)
        resolutions: dict[tuple, list[float]] = defaultdict(list)
        fcr: dict[tuple, int] = defaultdict(int)
        breaches: dict[tuple, int] = defaultdict(int)
        first_responses: dict[tuple, list[float]] = defaultdict(list)
        open_n: dict[tuple, int] = defaultdict(int)
        breached_open_n: dict[tuple, int] = defaultdict(int)
        for tid, history in tickets.items():
            created_t, created = history[0]
            priority = created["priority"]
            keys = ticket_keys[tid]
            replies = [t for t, e in history if e["type"] == "ticket.agent_replied"]
            reopens = [t for t, e in history if e["type"] == "ticket.reopened"]
            for key in keys:
                if S <= created_t < E:
                    created_n[key] += 1
                if replies and S <= min(replies) < E:
                    first_responses[key].append(min(replies) - created_t)
            for t, e in history:
                if e["type"] == "ticket.resolved" and S <= t < E:
                    seconds = t - created_t
                    is_fcr = sum(r < t for r in replies) <= 1 and not any(r < t for r in reopens)
                    for key in keys:
                        resolutions[key].append(seconds)
                        fcr[key] += is_fcr
                        breaches[key] += seconds > sla[priority]
            is_open = False
            for t, e in history:
                if t >= E:
                    break
                if e["type"] in ("ticket.created", "ticket.reopened"):
                    is_open = True
                elif e["type"] == "ticket.resolved":
                    is_open = False
            for key in keys:
                open_n[key] += is_open
                breached_open_n[key] += is_open and (E - created_t) > sla[priority]
        ticket_label_keys = {
            key for key in set(created_n) | set(resolutions) | set(first_responses) | set(open_n)
            if key and (created_n[key] or resolutions[key] or first_responses[key] or open_n[key] or breached_open_n[key])
        }
        for key in ticket_label_keys | {()}:
            labels = (key,) if key else ()
            res, frt = resolutions[key], first_responses[key]
            put("tickets_created", created_n[key], labels)
            put("tickets_resolved", len(res), labels)
            put("resolution_time_mean_seconds", mean(res), labels)
            put("first_response_time_mean_seconds", mean(frt), labels)
            for name, q in PERCENTILES:
                put(f"resolution_time_{name}_seconds", nearest_rank(res, q), labels)
                put(f"first_response_time_{name}_seconds", nearest_rank(frt, q), labels)
            put("fcr_ratio", div(fcr[key], len(res)), labels)
            put("sla_breach_ratio", div(breaches[key], len(res)), labels)
            put("open_tickets", open_n[key], labels)
            put("sla_breached_open_tickets", breached_open_n[key], labels)

        # --- customers -------------------------------------------------------------------
        base = {c for c in lifecycle if member_at(c, S)}
        churned = {c for c in base if any(S <= t < E and kind == 1 for t, kind in lifecycle[c])}
        churn = div(len(churned), len(base))
        put("churn_ratio", churn)
        put("retention_ratio", None if churn is None else 1 - churn)
        active = active_between(S, E)
        put("active_customers", len(active))
        users: dict[str, set[str]] = defaultdict(set)
        for t, e in inside:
            if e["type"] == "feature.used":
                users[e["feature"]].add(e["customer_id"])
        for feature, who in users.items():
            put("adoption_ratio", div(len(who), len(active)), (("feature", feature),))
        dau, mau = active_between(E - DAY, E), active_between(E - 30 * DAY, E)
        put("stickiness_ratio", div(len(dau), len(mau)))

        # --- orders ----------------------------------------------------------------------
        checkouts = [e for _, e in inside if e["type"] == "checkout.started"]
        orders = [e for _, e in inside if e["type"] == "order.placed"]
        revenue_cents = sum(round(e["amount"] * 100) for e in orders)
        revenue = revenue_cents / 100
        buyers = {e["customer_id"] for e in orders}
        aov = div(revenue, len(orders))
        frequency = div(len(orders), len(buyers))
        put("checkouts", len(checkouts))
        put("orders", len(orders))
        put("conversion_ratio", div(len(orders), len(checkouts)))
        put("revenue", revenue)
        put("aov", aov)
        put("clv", aov * frequency / churn if aov is not None and frequency is not None and churn else None)
    return out


APPROXIMATE = {f"{kind}_{name}_seconds" for kind in ("resolution_time", "first_response_time") for name, _ in PERCENTILES}


def assert_rows_match(actual: dict, expected: dict) -> None:
    """Same rows; counts exact, other values exact up to float rounding, percentiles within 1 %."""
    assert set(actual) == set(expected), (
        f"missing {sorted(set(expected) - set(actual))[:5]} extra {sorted(set(actual) - set(expected))[:5]}"
    )
    for key, want in expected.items():
        got = actual[key]
        if want is None or got is None:
            assert got is None and want is None, (key, got, want)
        elif key[0] in APPROXIMATE:
            assert abs(got - want) <= 0.01 * abs(want), (key, got, want)
        elif isinstance(want, int) and not isinstance(want, bool) and key[0] not in ("revenue",):
            assert got == want, (key, got, want)
        else:
            assert math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-9), (key, got, want)
