"""Ticket KPIs per window, worked out by hand."""

from __future__ import annotations

import pytest

from kpi.sla import SlaPolicy
from .kpi_testkit import DAY0, HOUR, by_ts, created, customer_replied, nps, reopened, replied, resolved, run

T = DAY0  # window 0 of 1 h windows is [T, T + 3600)
SHORT_SLA = SlaPolicy({"urgent": 600, "high": 1200, "normal": 1800, "low": 3000})

# Six tickets, all in window 0 (offsets in seconds from T):
#   t1 urgent billing/email  created 0,   reply 100,               resolved 500   res 500   fcr  no breach (500 <= 600)
#   t2 high   billing/chat   created 60,  reply 160, reply 400,    resolved 1460  res 1400  2 replies: not fcr; 1400 > 1200 breach
#   t3 normal tech/email     created 120, reply 420, resolved 720 (res 600, fcr, no breach), reopened 900,
#                            resolved 2220 (res 2100, reopened: not fcr; 2100 > 1800 breach)
#   t4 low    tech/chat      created 1000, customer reply 1100; still open at 3600 (3600-1000 = 2600 <= 3000: not breached)
#   t5 urgent billing/email  created 240, reply 840; open at 3600 (3600-240 = 3360 > 600: breached)
#   t6 low    tech/chat      created 300, resolved 3300 with no reply (res 3000, fcr, 3000 is not > 3000: no breach)
SCENARIO = by_ts([
    created("t1", T + 0, priority="urgent", team="billing", channel="email"),
    replied("t1", T + 100), resolved("t1", T + 500),
    created("t2", T + 60, priority="high", team="billing", channel="chat"),
    replied("t2", T + 160), replied("t2", T + 400, agent="a2"), resolved("t2", T + 1460),
    created("t3", T + 120, priority="normal", team="tech", channel="email"),
    replied("t3", T + 420), resolved("t3", T + 720), reopened("t3", T + 900), resolved("t3", T + 2220),
    created("t4", T + 1000, priority="low", team="tech", channel="chat"),
    customer_replied("t4", T + 1100),
    created("t5", T + 240, priority="urgent", team="billing", channel="email"),
    replied("t5", T + 840),
    created("t6", T + 300, priority="low", team="tech", channel="chat"),
    resolved("t6", T + 3300),
])

# (labels, kpi, expected) -- arithmetic in the comments.
EXPECTED = [
    # overall: created t1..t6
    ({}, "tickets_created", 6),
    # resolved events: t1@500, t2@1460, t3@720, t3@2220, t6@3300
    ({}, "tickets_resolved", 5),
    # resolution times [500, 1400, 600, 2100, 3000]: sum 7600 / 5
    ({}, "resolution_time_mean_seconds", 1520.0),
    # sorted [500, 600, 1400, 2100, 3000]: p50 rank ceil(2.5)=3, p90 rank ceil(4.5)=5, p95 rank ceil(4.75)=5
    ({}, "resolution_time_p50_seconds", 1400.0),
    ({}, "resolution_time_p90_seconds", 3000.0),
    ({}, "resolution_time_p95_seconds", 3000.0),
    # first replies: t1 100, t2 100 (second reply ignored), t3 300, t5 600: sum 1100 / 4
    ({}, "first_response_time_mean_seconds", 275.0),
    # sorted [100, 100, 300, 600]: p50 rank 2, p90 rank ceil(3.6)=4, p95 rank 4
    ({}, "first_response_time_p50_seconds", 100.0),
    ({}, "first_response_time_p90_seconds", 600.0),
    ({}, "first_response_time_p95_seconds", 600.0),
    # fcr: t1 yes, t2 no, t3@720 yes, t3@2220 no, t6 yes -> 3/5
    ({}, "fcr_ratio", 0.6),
    # breaches: t2, t3@2220 -> 2/5
    ({}, "sla_breach_ratio", 0.4),
    # open at 3600: t4, t5
    ({}, "open_tickets", 2),
    # breached open: t5 only
    ({}, "sla_breached_open_tickets", 1),
    # team billing: t1, t2, t5
    ({"team": "billing"}, "tickets_created", 3),
    ({"team": "billing"}, "tickets_resolved", 2),
    ({"team": "billing"}, "resolution_time_mean_seconds", 950.0),  # (500 + 1400) / 2
    ({"team": "billing"}, "resolution_time_p50_seconds", 500.0),  # rank 1 of [500, 1400]
    ({"team": "billing"}, "resolution_time_p95_seconds", 1400.0),  # rank 2
    ({"team": "billing"}, "first_response_time_mean_seconds", 800 / 3),  # (100 + 100 + 600) / 3
    ({"team": "billing"}, "first_response_time_p50_seconds", 100.0),  # rank 2 of [100, 100, 600]
    ({"team": "billing"}, "first_response_time_p90_seconds", 600.0),  # rank 3
    ({"team": "billing"}, "fcr_ratio", 0.5),  # t1 yes, t2 no
    ({"team": "billing"}, "sla_breach_ratio", 0.5),  # t2
    ({"team": "billing"}, "open_tickets", 1),  # t5
    ({"team": "billing"}, "sla_breached_open_tickets", 1),  # t5
    # team tech: t3, t4, t6
    ({"team": "tech"}, "tickets_created", 3),
    ({"team": "tech"}, "tickets_resolved", 3),  # t3 twice, t6
    ({"team": "tech"}, "resolution_time_mean_seconds", 1900.0),  # (600 + 2100 + 3000) / 3
    ({"team": "tech"}, "resolution_time_p50_seconds", 2100.0),  # rank 2 of [600, 2100, 3000]
    ({"team": "tech"}, "resolution_time_p90_seconds", 3000.0),  # rank 3
    ({"team": "tech"}, "first_response_time_mean_seconds", 300.0),  # t3 only
    ({"team": "tech"}, "fcr_ratio", 2 / 3),  # t3@720 yes, t3@2220 no, t6 yes
    ({"team": "tech"}, "sla_breach_ratio", 1 / 3),  # t3@2220
    ({"team": "tech"}, "open_tickets", 1),  # t4
    ({"team": "tech"}, "sla_breached_open_tickets", 0),
    # channel email: t1, t3, t5
    ({"channel": "email"}, "tickets_created", 3),
    ({"channel": "email"}, "tickets_resolved", 3),  # t1, t3 twice
    ({"channel": "email"}, "resolution_time_mean_seconds", 3200 / 3),  # (500 + 600 + 2100) / 3
    ({"channel": "email"}, "first_response_time_mean_seconds", 1000 / 3),  # (100 + 300 + 600) / 3
    ({"channel": "email"}, "fcr_ratio", 2 / 3),  # t1 yes, t3@720 yes, t3@2220 no
    ({"channel": "email"}, "sla_breach_ratio", 1 / 3),
    ({"channel": "email"}, "open_tickets", 1),  # t5
    ({"channel": "email"}, "sla_breached_open_tickets", 1),
    # channel chat: t2, t4, t6
    ({"channel": "chat"}, "tickets_created", 3),
    ({"channel": "chat"}, "tickets_resolved", 2),  # t2, t6
    ({"channel": "chat"}, "resolution_time_mean_seconds", 2200.0),  # (1400 + 3000) / 2
    ({"channel": "chat"}, "first_response_time_mean_seconds", 100.0),  # t2
    ({"channel": "chat"}, "fcr_ratio", 0.5),  # t2 no, t6 yes
    ({"channel": "chat"}, "sla_breach_ratio", 0.5),  # t2
    ({"channel": "chat"}, "open_tickets", 1),  # t4
    ({"channel": "chat"}, "sla_breached_open_tickets", 0),
    # priority urgent: t1, t5
    ({"priority": "urgent"}, "tickets_created", 2),
    ({"priority": "urgent"}, "tickets_resolved", 1),
    ({"priority": "urgent"}, "resolution_time_p50_seconds", 500.0),
    ({"priority": "urgent"}, "first_response_time_mean_seconds", 350.0),  # (100 + 600) / 2
    ({"priority": "urgent"}, "fcr_ratio", 1.0),
    ({"priority": "urgent"}, "sla_breach_ratio", 0.0),
    ({"priority": "urgent"}, "open_tickets", 1),
    ({"priority": "urgent"}, "sla_breached_open_tickets", 1),
    # priority high: t2
    ({"priority": "high"}, "tickets_created", 1),
    ({"priority": "high"}, "fcr_ratio", 0.0),
    ({"priority": "high"}, "sla_breach_ratio", 1.0),
    ({"priority": "high"}, "open_tickets", 0),
    # priority normal: t3
    ({"priority": "normal"}, "tickets_resolved", 2),
    ({"priority": "normal"}, "resolution_time_mean_seconds", 1350.0),  # (600 + 2100) / 2
    ({"priority": "normal"}, "fcr_ratio", 0.5),
    ({"priority": "normal"}, "sla_breach_ratio", 0.5),
    # priority low: t4, t6; no agent reply at all -> first response null
    ({"priority": "low"}, "tickets_created", 2),
    ({"priority": "low"}, "tickets_resolved", 1),
    ({"priority": "low"}, "resolution_time_mean_seconds", 3000.0),
    ({"priority": "low"}, "first_response_time_mean_seconds", None),
    ({"priority": "low"}, "first_response_time_p50_seconds", None),
    ({"priority": "low"}, "fcr_ratio", 1.0),
    ({"priority": "low"}, "sla_breach_ratio", 0.0),  # 3000 is not > 3000
    ({"priority": "low"}, "open_tickets", 1),
    ({"priority": "low"}, "sla_breached_open_tickets", 0),
]


@pytest.fixture(scope="module")
def scenario():
    result = run(SCENARIO, sla=SHORT_SLA)
    assert result.rejects == []
    return result


@pytest.mark.parametrize(("labels", "kpi", "expected"), EXPECTED, ids=lambda x: str(x))
def test_ticket_kpis_by_hand(scenario, labels: dict[str, str], kpi: str, expected) -> None:
    value = scenario.value(kpi, 0, **labels)
    if expected is None:
        assert value is None
    elif "_p50_" in kpi or "_p90_" in kpi or "_p95_" in kpi:
        assert value == pytest.approx(expected, rel=0.01)
    else:
        assert value == pytest.approx(expected, rel=1e-12)


def test_counts_and_ratios_are_exact(scenario) -> None:
    assert scenario.value("tickets_created") == 6 and type(scenario.value("tickets_created")) is int
    assert scenario.value("fcr_ratio") == 3 / 5
    assert scenario.value("sla_breach_ratio") == 2 / 5


def test_breakdown_label_sets(scenario) -> None:
    assert scenario.label_sets("tickets_created") == {
        (), (("team", "billing"),), (("team", "tech"),), (("channel", "email"),), (("channel", "chat"),),
        (("priority", "urgent"),), (("priority", "high"),), (("priority", "normal"),), (("priority", "low"),),
    }


def test_group_by_limits_ticket_breakdowns() -> None:
    result = run(SCENARIO, sla=SHORT_SLA, group_by=("priority",))
    assert result.label_sets("tickets_created") == {
        (), (("priority", "urgent"),), (("priority", "high"),), (("priority", "normal"),), (("priority", "low"),),
    }
    assert result.value("tickets_created", 0, priority="low") == 2
    none = run(SCENARIO, sla=SHORT_SLA, group_by=())
    assert none.label_sets("open_tickets") == {()}
    assert none.value("open_tickets") == 2


def test_no_tickets_gives_null_ratios_and_zero_counts() -> None:
    # Only a customer reply to a ticket of an earlier window: window 1 has no flows.
    result = run([created("q", T + 10), customer_replied("q", T + HOUR + 10)])
    assert result.windows() == [0, 1]
    for kpi in ("resolution_time_mean_seconds", "resolution_time_p50_seconds", "first_response_time_mean_seconds",
                "first_response_time_p95_seconds", "fcr_ratio", "sla_breach_ratio"):
        assert result.value(kpi, 1) is None, kpi
    assert result.value("tickets_created", 1) == 0
    assert result.value("tickets_resolved", 1) == 0
    assert result.value("open_tickets", 1) == 1


def test_open_and_breached_open_across_windows_with_default_sla() -> None:
    # Urgent target 4 h. u1 created at 0, resolved at 5h+10, reopened at exactly 6h, resolved at 7h+100.
    # Open at the end of window k (end = (k+1) h):  k=0..4 open; k=5 resolved; k=6 reopened; k=7 resolved.
    # Breached open: end - 0 > 4h, i.e. end >= 5h -> k=4 (end 5h: 18000 > 14400) yes; k=3 (end 4h: 14400 is not > 14400) no.
    events = [
        created("u1", T, priority="urgent"),
        resolved("u1", T + 5 * HOUR + 10),
        reopened("u1", T + 6 * HOUR),
        resolved("u1", T + 7 * HOUR + 100),
    ]
    result = run(events)
    assert result.windows() == list(range(8))
    assert [result.value("open_tickets", k) for k in range(8)] == [1, 1, 1, 1, 1, 0, 1, 0]
    assert [result.value("sla_breached_open_tickets", k) for k in range(8)] == [0, 0, 0, 0, 1, 0, 1, 0]
    assert [result.value("open_tickets", k, priority="urgent") for k in range(8)] == [1, 1, 1, 1, 1, 0, 1, 0]
    # Window 5: resolution 5h+10 = 18010 s > 14400: breached; no replies, no reopen: fcr.
    assert result.value("tickets_resolved", 5) == 1
    assert result.value("resolution_time_mean_seconds", 5) == 18010.0
    assert result.value("sla_breach_ratio", 5) == 1.0
    assert result.value("fcr_ratio", 5) == 1.0
    # Window 7: the re-resolution counts again, measured from creation: 7h+100 = 25300 s; reopened: not fcr.
    assert result.value("tickets_resolved", 7) == 1
    assert result.value("resolution_time_mean_seconds", 7) == 25300.0
    assert result.value("fcr_ratio", 7) == 0.0
    assert result.value("sla_breach_ratio", 7) == 1.0
    # Windows without resolutions: null ratios.
    assert result.value("fcr_ratio", 6) is None


def test_breached_open_counts_a_reopened_ticket_from_its_original_creation() -> None:
    # normal target 24h (default). Created at 0, resolved at 1h, reopened at 30h (already past 24h since creation),
    # so at the end of window 30 (31h) it is open and 31h - 0 > 24h: breached.
    events = [created("n1", T), resolved("n1", T + HOUR), reopened("n1", T + 30 * HOUR + 5), customer_replied("n1", T + 31 * HOUR - 1)]
    result = run(events)
    assert result.value("open_tickets", 29) == 0
    assert result.value("sla_breached_open_tickets", 29) == 0
    assert result.value("open_tickets", 30) == 1
    assert result.value("sla_breached_open_tickets", 30) == 1


def test_breach_starts_at_the_target_not_at_the_reopen_when_reopened_early() -> None:
    # high target 8h. Created 0, resolved 1h, reopened 2h: open from window 2, breached once end - 0 > 8h,
    # i.e. from window 8 (end 9h); window 7 ends at exactly 8h -> not breached.
    events = [created("h1", T, priority="high"), resolved("h1", T + HOUR), reopened("h1", T + 2 * HOUR),
              customer_replied("h1", T + 9 * HOUR - 1)]
    result = run(events)
    assert [result.value("open_tickets", k) for k in range(9)] == [1, 0, 1, 1, 1, 1, 1, 1, 1]
    assert [result.value("sla_breached_open_tickets", k) for k in range(9)] == [0, 0, 0, 0, 0, 0, 0, 0, 1]


def test_reopening_an_open_ticket_changes_no_count() -> None:
    events = [created("r", T), reopened("r", T + 10), resolved("r", T + 20)]
    result = run(events)
    assert result.value("open_tickets") == 0
    assert result.value("tickets_resolved") == 1
    assert result.value("fcr_ratio") == 0.0  # a reopen before the resolution, even a redundant one


def test_first_response_is_the_first_reply_ever_attributed_to_its_window() -> None:
    # x created at 0 (window 0), first reply at 1h+100 (window 1), second reply at 2h+5 (window 2).
    # Window 1: first response 3700 s. Window 2: the second reply is not a first response -> null.
    events = [created("x", T), replied("x", T + HOUR + 100), replied("x", T + 2 * HOUR + 5)]
    result = run(events)
    assert result.value("first_response_time_mean_seconds", 0) is None
    assert result.value("first_response_time_mean_seconds", 1) == 3700.0
    assert result.value("first_response_time_p50_seconds", 1) == 3700.0
    assert result.value("first_response_time_mean_seconds", 2) is None


def test_fcr_counts_replies_before_the_resolution_only() -> None:
    # y: one reply, resolved (fcr), reopened, two replies, resolved again (not fcr).
    # z: two replies then resolved: not fcr. w: zero replies: fcr.  -> 2/4
    events = [
        created("y", T), replied("y", T + 10), resolved("y", T + 20), reopened("y", T + 30),
        replied("y", T + 40), replied("y", T + 50), resolved("y", T + 60),
        created("z", T + 1), replied("z", T + 11), replied("z", T + 12), resolved("z", T + 13),
        created("w", T + 2), resolved("w", T + 14),
    ]
    result = run(by_ts(events))
    assert result.value("tickets_resolved") == 4
    assert result.value("fcr_ratio") == 0.5


def test_custom_sla_targets_apply() -> None:
    # normal target configured to 60 s; resolution 61 s breaches, 60 s does not -> 1/2.
    events = [created("a", T), created("b", T + 1), resolved("b", T + 61), resolved("a", T + 61)]
    result = run(events, sla=SlaPolicy({"normal": 60}))
    assert result.value("sla_breach_ratio") == 0.5
    default = run(events)
    assert default.value("sla_breach_ratio") == 0.0


def test_ticket_created_exactly_on_a_window_edge_belongs_to_the_later_window() -> None:
    events = [created("a", T + HOUR - 1), created("b", T + HOUR), created("c", T + 2 * HOUR - 0.001)]
    result = run(events)
    assert result.value("tickets_created", 0) == 1
    assert result.value("tickets_created", 1) == 2
    assert result.value("open_tickets", 0) == 1
    assert result.value("open_tickets", 1) == 3


def test_ticket_retention_is_a_documented_bound_on_open_tickets() -> None:
    # Engine limit, not part of the KPI spec: tickets are remembered for ticket_retention_seconds
    # (30 days by default). With 2 h, r (created at 0, never resolved) is forgotten once the
    # watermark passes 2h + grace: open at the ends of windows 0 and 1, no longer from window 2;
    # a later reply is then an unknown ticket.
    events = [created("r", T), nps(9, T + 2 * HOUR + 400), replied("r", T + 3 * HOUR)]
    result = run(events, ticket_retention_seconds=2 * HOUR)
    assert [result.value("open_tickets", k) for k in range(3)] == [1, 1, 0]  # the rejected reply opens no window
    assert result.reasons() == ["unknown_ticket"]
    assert result.stats.tickets_expired == 1
