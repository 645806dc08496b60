"""The spec format and the validated model: clear errors, and agreement with the worker."""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.utils import floatToGoString

from kpi.sla import DEFAULT_TARGETS_SECONDS
from streams.codegen.durations import Duration
from streams.codegen.errors import SpecError
from streams.codegen.model import build_model, load_model
from streams.codegen.spec import PYPROJECT_PATH, SPEC_PATH, default_runbook_url, load_spec, parse_spec
from streams.settings import Settings
from streams.worker.metrics import resolution_buckets


@pytest.fixture
def raw() -> dict[str, Any]:
    return yaml.safe_load(SPEC_PATH.read_text())


def _errors(raw: dict[str, Any]) -> str:
    with pytest.raises(SpecError) as info:
        build_model(parse_spec(raw, source="test-spec.yaml"), source="test-spec.yaml")
    return str(info.value)


def test_the_committed_spec_is_valid_and_versioned() -> None:
    spec = load_spec()
    assert spec.version == 1
    assert SPEC_PATH.name == "kpi-spec.v1.yaml"
    model = load_model()
    assert model.source == "deploy/spec/kpi-spec.v1.yaml"
    assert {k.kpi for k in model.kpis} >= {"nps", "csat", "fcr_ratio"}


def test_spec_sla_targets_equal_the_worker_defaults() -> None:
    """The rules read the histogram at each spec target; the worker must use the same targets."""
    model = load_model()
    assert {p.name: p.target.seconds for p in model.sla.priorities} == DEFAULT_TARGETS_SECONDS


def test_spec_windows_equal_the_worker_defaults() -> None:
    assert list(load_model().windows) == Settings().trailing_windows


def test_bucket_labels_are_what_client_python_exposes() -> None:
    model = load_model()
    exposed = {floatToGoString(b) for b in resolution_buckets(DEFAULT_TARGETS_SECONDS)}
    assert [p.le for p in model.sla.priorities] == ["14400.0", "28800.0", "86400.0", "259200.0"]
    assert {p.le for p in model.sla.priorities} <= exposed


@pytest.mark.parametrize(
    ("text", "milliseconds", "canonical"),
    [("30s", 30_000, "30s"), ("5m", 300_000, "5m"), ("60m", 3_600_000, "1h"), ("24h", 86_400_000, "1d"), ("0s", 0, "0s"), ("250ms", 250, "250ms")],
)
def test_durations(text: str, milliseconds: int, canonical: str) -> None:
    d = Duration.parse(text)
    assert d.milliseconds == milliseconds
    assert str(d) == canonical


@pytest.mark.parametrize("text", ["5 min", "1h30m", "-5m", "5", "", "1.5h", "05m", 5])
def test_bad_durations_are_rejected(text: object) -> None:
    with pytest.raises(ValueError, match="bad duration"):
        Duration.parse(text)


def test_version_is_required_and_checked(raw: dict[str, Any]) -> None:
    del raw["version"]
    with pytest.raises(SpecError, match="missing `version`; this build reads spec version 1"):
        parse_spec(raw)
    raw["version"] = 2
    with pytest.raises(SpecError, match="unsupported spec version 2"):
        parse_spec(raw)
    with pytest.raises(SpecError, match="must be a mapping"):
        parse_spec(["version", 1])


def test_unknown_keys_are_named_with_what_is_allowed(raw: dict[str, Any]) -> None:
    raw["sla"]["priorities"]["urgent"]["targt"] = "4h"
    raw["kpis"]["nps"]["fro"] = "5m"
    raw["colour"] = "red"
    message = _errors(raw)
    assert "sla.priorities.urgent.targt: unknown key (allowed here: target, severity)" in message
    assert "kpis.nps.fro: unknown key (allowed here: title, window, min, max, warn, by, min_samples, for, severity, alert, wall)" in message
    assert "colour: unknown key (allowed here: version, runbook_url" in message
    assert message.startswith("test-spec.yaml: 3 problem(s):")


def test_bad_durations_name_their_key(raw: dict[str, Any]) -> None:
    raw["sla"]["priorities"]["high"]["target"] = "8 hours"
    raw["pipeline"]["worker_down"]["for"] = "2x"
    message = _errors(raw)
    assert "sla.priorities.high.target: bad duration '8 hours'" in message
    assert "pipeline.worker_down.for: bad duration '2x'" in message


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        (("kpis", "nps", "min"), 130, "kpis.nps.min: 130 is out of range for nps (-100..100)"),
        (("kpis", "csat", "min"), 80, "kpis.csat.min: 80 is out of range for csat (0..1)"),
        (("kpis", "csat", "warn"), 0.7, "kpis.csat.warn: the amber band starts above `min`, so warn must be > 0.8, got 0.7"),
        (("kpis", "first_response_time_p90_seconds", "max"), 3600, "kpis.first_response_time_p90_seconds.max: first_response_time_p90_seconds is a time; write the threshold as a duration"),
        (("kpis", "nps", "min"), [20], "kpis.nps.min: Input should be a valid number or integer or string"),
        (("kpis", "fcr_ratio", "min"), "70%", "kpis.fcr_ratio.min: fcr_ratio needs a number, got '70%'"),
        (("kpis", "nps", "window"), "2h", "kpis.nps.window: 2h is not one of the worker's windows ['5m', '1h', '24h']"),
        (("kpis", "nps", "window"), "1d", "write it as '24h', the text is the `window` label value"),
        (("kpis", "nps", "by"), "priority", "kpis.nps.by: nps has no 'priority' breakdown"),
        (("sla", "slo", "objective"), 1.0, "sla.slo.objective: Input should be less than 1"),
        (("sla", "slo", "objective"), 0.9, "sla.slo.burn_rates.0.factor: 14.4 x error budget 0.1 > 1"),
        (("sla", "breach_ratio", "max"), 0, "sla.breach_ratio.max: Input should be greater than 0"),
        (("min_sample_size",), 0, "min_sample_size: Input should be greater than or equal to 1"),
        (("grafana", "dashboards", "wall", "uid"), "wall screen!", "bad uid 'wall screen!'"),
        (("pipeline", "rejected_events", "max_ratio"), 5, "pipeline.rejected_events.max_ratio: Input should be less than 1"),
    ],
)
def test_out_of_range_and_inconsistent_values(raw: dict[str, Any], path: tuple[str, ...], value: Any, expected: str) -> None:
    target = raw
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    assert expected in _errors(raw)


def test_a_kpi_needs_exactly_one_direction(raw: dict[str, Any]) -> None:
    raw["kpis"]["nps"]["max"] = 50
    assert "kpis.nps: give exactly one of `min` (alert below) or `max` (alert above)" in _errors(raw)


def test_unknown_kpi_and_priority(raw: dict[str, Any]) -> None:
    raw["kpis"]["happiness"] = {"window": "1h", "min": 1}
    raw["kpis"]["revenue"] = {"window": "1h", "min": 1}
    raw["sla"]["priorities"]["critical"] = {"target": "1h", "severity": "page"}
    del raw["sla"]["priorities"]["low"]
    message = _errors(raw)
    assert "kpis.happiness: unknown KPI; targets can be set for:" in message
    assert "kpis.revenue: unknown KPI (a KPI without a target range)" in message
    assert "sla.priorities: missing low" in message
    assert "sla.priorities: unknown priorities critical" in message


def test_burn_rate_short_window_must_be_shorter(raw: dict[str, Any]) -> None:
    raw["sla"]["slo"]["burn_rates"][0]["short"] = "2h"
    assert "short window 2h must be shorter than long window 1h" in _errors(raw)


def test_severity_must_be_page_or_ticket(raw: dict[str, Any]) -> None:
    raw["pipeline"]["worker_down"]["severity"] = "critical"
    assert "pipeline.worker_down.severity: Input should be 'page' or 'ticket'" in _errors(raw)


def test_load_spec_reports_unreadable_and_invalid_yaml(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="cannot read the spec"):
        load_spec(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nsla: [\n")
    with pytest.raises(SpecError, match="not valid YAML"):
        load_spec(bad)


def test_model_is_independent_of_the_input_dict(raw: dict[str, Any]) -> None:
    before = copy.deepcopy(raw)
    build_model(parse_spec(raw))
    assert raw == before


def test_alert_names_derive_from_the_kpi() -> None:
    names = {k.kpi: k.alert_name for k in load_model().kpis}
    assert names["nps"] == "KpiNpsBelowTarget"
    assert names["fcr_ratio"] == "KpiFcrBelowTarget"
    assert names["first_response_time_p90_seconds"] == "KpiFirstResponseTimeP90AboveTarget"


def test_runbook_links_default_to_the_project_docs() -> None:
    """The committed spec sets no runbook_url: alerts link to pyproject's Documentation URL."""
    assert "runbook_url" not in yaml.safe_load(SPEC_PATH.read_text())
    docs = tomllib.loads(PYPROJECT_PATH.read_text())["project"]["urls"]["Documentation"]
    assert docs.startswith("https://")
    assert load_model().runbook_url == f"{docs}/runbook.md"


@pytest.mark.parametrize("url", ["docs/runbook.md", "/docs/runbook.md", "runbook.md#x", "ftp://host/runbook", "https://", "https://wiki/run book"])
def test_a_runbook_url_that_cannot_be_opened_from_an_alert_is_an_error(raw: dict[str, Any], url: str) -> None:
    raw["runbook_url"] = url
    assert "runbook_url: must be an absolute http(s) URL: alert links are opened outside this repository" in _errors(raw)
    assert f"(got {url!r})" in _errors(raw)


def test_runbook_and_grafana_urls_are_configurable(raw: dict[str, Any]) -> None:
    raw["runbook_url"] = "https://wiki.example.com/kpi/runbook/"
    raw["grafana"]["url"] = "https://grafana.example.com/"
    model = build_model(parse_spec(raw))
    assert model.runbook("KpiWorkerDown") == "https://wiki.example.com/kpi/runbook#kpiworkerdown"
    assert model.dashboard_url(model.grafana.wall) == "https://grafana.example.com/d/kpi-wall"
    raw["grafana"]["url"] = "grafana:3000"
    assert "grafana.url: must be an absolute http(s) URL" in _errors(raw)


def test_the_default_runbook_needs_a_readable_documentation_url(tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[project]\nname = "x"\n')
    with pytest.raises(SpecError, match=r"runbook_url: not set in the spec, and the default \(\[project.urls\] Documentation"):
        default_runbook_url(pyproject)
    pyproject.write_text('[project.urls]\nDocumentation = "https://docs.example.com/kpi/"\n')
    assert default_runbook_url(pyproject) == "https://docs.example.com/kpi/runbook.md"


def test_the_wall_shows_the_kpis_it_always_showed_unless_the_spec_marks_others(raw: dict[str, Any]) -> None:
    # A version-1 spec without any `wall:` key (the committed one) keeps today's wall.
    assert [k.kpi for k in load_model().wall_kpis] == [
        "nps", "csat", "fcr_ratio", "first_response_time_p90_seconds", "resolution_time_p90_seconds",
    ]
    raw["kpis"]["nps"]["wall"] = False
    raw["kpis"]["ces"] = {"title": "CES", "window": "24h", "max": 4, "wall": True}
    model = build_model(parse_spec(raw))
    assert [k.kpi for k in model.wall_kpis] == [
        "csat", "fcr_ratio", "first_response_time_p90_seconds", "resolution_time_p90_seconds", "ces",
    ]
    raw["kpis"]["ces"]["wall"] = "yes please"
    assert "kpis.ces.wall: Input should be a valid boolean" in _errors(raw)
