"""SLA policy and the live SLA state of open tickets (what the worker's gauges show between events)."""

from __future__ import annotations

import pytest

from kpi.config import EngineConfig
from kpi.engine import Engine
from kpi.errors import ConfigError
from kpi.sla import DEFAULT_TARGETS_SECONDS, LiveSla, SlaPolicy, live_sla_state

from .kpi_testkit import DAY0, HOUR, created, line, reopened, resolved


def test_default_targets() -> None:
    assert DEFAULT_TARGETS_SECONDS == {"urgent": 4 * 3600, "high": 8 * 3600, "normal": 24 * 3600, "low": 72 * 3600}


def test_overrides_merge_with_the_defaults() -> None:
    policy = SlaPolicy({"urgent": 7200})
    assert policy.target_seconds("urgent") == 7200
    assert policy.target_seconds("low") == 72 * 3600
    assert policy.is_breach("urgent", 7200.001)
    assert not policy.is_breach("urgent", 7200)  # exactly on target is not a breach


@pytest.mark.parametrize("targets", [{"critical": 60}, {"urgent": 0}, {"urgent": -5}, {"urgent": True}, {"urgent": "1h"}])
def test_bad_targets_are_refused(targets) -> None:
    with pytest.raises(ConfigError):
        SlaPolicy(targets)


def test_live_state_by_hand() -> None:
    policy = SlaPolicy({"urgent": 600, "high": 3600})
    now = 10_000.0
    open_tickets = [
        ("billing", "urgent", now - 700),  # 100 s past target: breached
        ("billing", "urgent", now - 600),  # exactly at target: not breached, 0 s left -> at risk in both
        ("billing", "urgent", now - 300),  # 300 s left -> at risk within 5m (300) and 1h
        ("billing", "high", now - 60),  # 3540 s left -> at risk within 1h only
        ("tech", "high", now - 100),  # 3500 s left -> 1h
        ("tech", "low", now),  # 72 h left -> neither
    ]
    state = live_sla_state(open_tickets, now, policy, {"5m": 300, "1h": 3600})
    assert state == {
        ("billing", "urgent"): LiveSla(open=3, breached=1, at_risk={"5m": 2, "1h": 2}),
        ("billing", "high"): LiveSla(open=1, breached=0, at_risk={"5m": 0, "1h": 1}),
        ("tech", "high"): LiveSla(open=1, breached=0, at_risk={"5m": 0, "1h": 1}),
        ("tech", "low"): LiveSla(open=1, breached=0, at_risk={"5m": 0, "1h": 0}),
    }
    assert live_sla_state([], now, policy, {"5m": 300}) == {}


def test_engine_reports_open_tickets_and_resolutions() -> None:
    engine = Engine(EngineConfig())
    seen: list[tuple[str, str, float]] = []
    engine.on_resolution = lambda team, priority, seconds: seen.append((team, priority, seconds))
    t = DAY0
    for e in [created("a", t, team="billing", priority="high"), created("b", t + 10, team="tech", priority="low"),
              resolved("a", t + 100), created("c", t + 20, team="tech"), reopened("a", t + 200)]:
        assert engine.process_raw(line(e)) == "accepted"
    assert sorted(engine.open_tickets()) == [("billing", "high", t), ("tech", "low", t + 10), ("tech", "normal", t + 20)]
    assert seen == [("billing", "high", 100.0)]
    assert engine.tracked_tickets == 3
    state = live_sla_state(engine.open_tickets(), t + 9 * HOUR, engine.config.sla, {"1h": 3600})
    assert state[("billing", "high")] == LiveSla(open=1, breached=1, at_risk={"1h": 0})  # 9h > 8h target
