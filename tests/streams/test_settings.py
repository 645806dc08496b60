"""The worker's settings: derived values and the checks that fail fast."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from streams.settings import Settings


def test_max_future_defaults_to_a_minute_or_half_the_grace() -> None:
    assert Settings().max_future_seconds() == 60
    assert Settings(grace="1m").max_future_seconds() == 30
    assert Settings(grace="10m", max_future="5m").max_future_seconds() == 300


def test_a_max_future_not_shorter_than_the_grace_is_refused_with_both_values() -> None:
    with pytest.raises(ValidationError, match=r"max_future \(5m\) must be shorter than grace \(5m\)"):
        Settings(max_future="5m")


@pytest.mark.parametrize("field", ["checkpoint_interval"])
def test_state_durations_are_validated(field: str) -> None:
    with pytest.raises(ValidationError, match="cannot read duration"):
        Settings(state={field: "soon"})


def test_internal_topics_and_intervals_derive_from_the_settings() -> None:
    s = Settings(app_id="desk", state={"checkpoint_interval": "30s"}, kafka={"session_timeout": "12s"})
    assert (s.checkpoint_topic(), s.partials_topic()) == ("desk-checkpoints", "desk-partials")
    assert s.checkpoint_interval_seconds() == 30
    assert s.session_timeout_seconds() == 12
