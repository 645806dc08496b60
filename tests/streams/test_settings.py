"""The worker's settings: derived values and the checks that fail fast."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import ValidationError

from kpi.contract import TOPICS
from kpi.errors import ConfigError
from streams.settings import Settings
from streams.settings_sources import NON_SETTING_VARIABLES, load_settings


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


# -- strict loading (streams/settings_sources.py): wrong is loud, never silent -----------------
# Each case is an input the issue gave (#12) or one of its kind; the expected text is the
# message a person should read: the source first, then what is wrong and the nearest name.


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No KPI_* variable from the caller's environment leaks into a test."""
    for name in list(os.environ):
        if name.upper().startswith("KPI_"):
            monkeypatch.delenv(name)
    return monkeypatch


def _problems(**kwargs: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_settings(**kwargs)
    text = str(info.value)
    assert text.startswith("invalid configuration:\n")
    return [line.strip() for line in text.splitlines()[1:] if line.startswith("  ")]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("KPI_WEB_PORT", "KPI_WEB_PORT: not a setting; did you mean KPI_WEB__PORT?"),  # one underscore
        ("KPI_GRAEC", "KPI_GRAEC: not a setting; did you mean KPI_GRACE?"),
        ("KPI_KAFKA__BOOTSTRAP_SERVER", "KPI_KAFKA__BOOTSTRAP_SERVER: not a setting; did you mean KPI_KAFKA__BOOTSTRAP_SERVERS?"),
        ("KPI_ZZZZZZZZZZZZ", "KPI_ZZZZZZZZZZZZ: not a setting"),  # nothing near: no suggestion
    ],
)
def test_an_unknown_kpi_variable_is_an_error_naming_the_nearest_setting(env, name: str, expected: str) -> None:
    env.setenv(name, "46066")
    assert _problems() == [expected]


def test_variables_that_are_not_settings_but_start_with_kpi_are_allowed(env) -> None:
    for name in sorted(NON_SETTING_VARIABLES - {"KPI_CONFIG_FILE"}):
        env.setenv(name, "1")
    env.setenv("KPI_STACK_KAFKA_PORT", "19092")  # the local stack's own settings
    env.setenv("kpi_web__port", "6067")  # names are case-insensitive, as pydantic-settings reads them
    env.setenv("KPI_SLA_TARGETS__URGENT", "2h")  # one entry of a table setting
    settings = load_settings()
    assert settings.web.port == 6067
    assert settings.sla_targets["urgent"] == "2h"


def test_a_list_variable_that_is_not_json_names_the_variable_and_shows_the_form(env) -> None:
    env.setenv("KPI_TRAILING_WINDOWS", "5m,1h")
    assert _problems() == [
        "KPI_TRAILING_WINDOWS: '5m,1h' is not JSON; write a list as JSON, e.g. KPI_TRAILING_WINDOWS='[\"5m\",\"1h\",\"24h\"]'"
    ]


def test_unknown_keys_at_every_toml_level_name_file_line_and_nearest_key(env, tmp_path: Path) -> None:
    path = tmp_path / "worker.toml"
    path.write_text('grace = "10m"\ngraec = "5m"\n\n[kafka]\nbootstrap_server = "k:9092"\n\n[web]\nprot = 6067\n')
    assert _problems(config_file=str(path)) == [
        f"{path}:2: graec: not a setting; did you mean grace?",
        f"{path}:5: kafka.bootstrap_server: not a setting; did you mean kafka.bootstrap_servers?",
        f"{path}:8: web.prot: not a setting; did you mean web.port?",
    ]


def test_a_toml_syntax_error_names_file_and_line(env, tmp_path: Path) -> None:
    path = tmp_path / "worker.toml"
    path.write_text('grace = "10m"\n[web\nport = 6067\n')
    [problem] = _problems(config_file=str(path))
    assert problem.startswith(f"{path}:2: TOML syntax error: ")


def test_a_missing_config_file_is_named_as_the_flag_or_the_variable(env, tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    assert _problems(config_file=str(missing)) == [f"--config {missing}: no such file"]
    env.setenv("KPI_CONFIG_FILE", str(missing))
    assert _problems() == [f"KPI_CONFIG_FILE={missing}: no such file"]


def test_a_bad_value_names_the_variable_or_the_file_line_it_came_from(env, tmp_path: Path) -> None:
    path = tmp_path / "worker.toml"
    path.write_text('[web]\nport = 99999\n')
    env.setenv("KPI_GRACE", "soon")
    assert _problems(config_file=str(path)) == [
        f"{path}:2 (web.port): Input should be less than or equal to 65535",
        "KPI_GRACE: cannot read duration 'soon': use e.g. 30s, 5m, 1h or 1d",
    ]


def test_an_unsupported_trailing_window_names_its_source(env) -> None:
    env.setenv("KPI_TRAILING_WINDOWS", '["7m"]')  # 7 minutes do not divide a day
    [problem] = _problems()
    assert problem.startswith("KPI_TRAILING_WINDOWS: trailing window 420 s is not supported")


def test_environment_overrides_the_file_and_a_good_file_loads(env, tmp_path: Path) -> None:
    path = tmp_path / "worker.toml"
    path.write_text('grace = "10m"\n[web]\nport = 6070\n[sla_targets]\nurgent = "2h"\n')
    env.setenv("KPI_WEB__PORT", "6071")
    settings = load_settings(config_file=str(path))
    assert (settings.grace, settings.web.port, settings.sla_targets["urgent"]) == ("10m", 6071, "2h")


def test_unknown_nested_keys_are_refused_by_the_model_itself_too() -> None:
    with pytest.raises(ValidationError, match="web.prot"):
        Settings(web={"prot": 1})


def test_topic_settings_follow_the_event_contract() -> None:
    topics = Settings().topics
    assert topics.inputs() == TOPICS
    assert Settings(topics={"tickets": "desk-tickets"}).topics.inputs()[TOPICS.index("tickets")] == "desk-tickets"


def test_the_shutdown_timeout_defaults_to_10s_and_must_be_between_1s_and_10m() -> None:
    assert Settings().shutdown_timeout_seconds() == 10
    assert Settings(shutdown_timeout="2m").shutdown_timeout_seconds() == 120
    for bad in ("0s", "11m"):
        with pytest.raises(ValidationError, match=rf"must be between 1s and 10m, got {bad}"):
            Settings(shutdown_timeout=bad)
    with pytest.raises(ValidationError, match="cannot read duration"):
        Settings(shutdown_timeout="soon")


def test_a_bad_shutdown_timeout_variable_is_named(env) -> None:
    env.setenv("KPI_SHUTDOWN_TIMEOUT", "0s")
    [problem] = _problems()
    assert problem.startswith("KPI_SHUTDOWN_TIMEOUT: ") and "must be between 1s and 10m" in problem
