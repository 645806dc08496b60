"""The spec file format, version 1: what may be written where, checked key by key.

This layer only reads and checks the file's shape (unknown keys, types, durations,
ranges that do not depend on the KPI). `model.py` resolves it against the metric
conventions. Errors name the file and the dotted path of every bad key.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal, get_args, get_origin
from urllib.parse import urlsplit

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import ErrorDetails

from streams.codegen.durations import Duration
from streams.codegen.errors import SpecError

SPEC_VERSION = 1
SPEC_PATH = Path(__file__).resolve().parents[2] / "deploy" / "spec" / f"kpi-spec.v{SPEC_VERSION}.yaml"
PYPROJECT_PATH = SPEC_PATH.parents[2] / "pyproject.toml"
# Grafana's own address in deploy/docker-compose.yml; a spec sets `grafana.url` to where the
# on-call opens Grafana.
DEFAULT_GRAFANA_URL = "http://127.0.0.1:3000"


def _duration(text: str) -> str:
    Duration.parse(text)
    return text


def _uid(text: str) -> str:
    if not (1 <= len(text) <= 40) or not all(ch.isalnum() or ch in "-_" for ch in text):
        raise ValueError(f"bad uid {text!r}: 1-40 letters, digits, '-' or '_' (Grafana's limit)")
    return text


def _absolute_url(text: str) -> str:
    """Alert links are opened from Alertmanager, Slack or PagerDuty, never from this checkout."""
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc or any(ch.isspace() for ch in text):
        raise ValueError(
            "must be an absolute http(s) URL: alert links are opened outside this repository (Alertmanager, "
            "Slack, PagerDuty), so give the full address people can open, e.g. https://git.example.com/kpi-monitor/docs/runbook.md"
        )
    return text.rstrip("/")


DurationText = Annotated[str, AfterValidator(_duration)]
Uid = Annotated[str, AfterValidator(_uid)]
AbsoluteUrl = Annotated[str, AfterValidator(_absolute_url)]
Severity = Literal["page", "ticket"]
Ratio = Annotated[float, Field(gt=0, lt=1)]
Number = float | int


class _Strict(BaseModel):
    # Unknown keys are errors; `for` is a Python keyword, so fields use `for_` with an alias.
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=False, strict=False)


class AlertSpec(_Strict):
    for_: DurationText = Field(alias="for")
    severity: Severity


class PrioritySpec(_Strict):
    target: DurationText
    severity: Severity


class BreachedTicketsSpec(_Strict):
    for_: DurationText = Field("5m", alias="for")


class BreachRatioSpec(_Strict):
    window: DurationText = "1h"
    max: Ratio
    min_resolutions: Annotated[int, Field(ge=1)] | None = None
    for_: DurationText = Field("15m", alias="for")
    severity: Severity = "ticket"


class BurnRateSpec(_Strict):
    severity: Severity
    long: DurationText
    short: DurationText
    factor: Annotated[float, Field(gt=0)]
    for_: DurationText = Field("0s", alias="for")

    @model_validator(mode="after")
    def _short_below_long(self) -> BurnRateSpec:
        if Duration.parse(self.short) >= Duration.parse(self.long):
            raise ValueError(f"short window {self.short} must be shorter than long window {self.long}")
        return self


class SloSpec(_Strict):
    objective: Ratio
    period: DurationText = "30d"
    burn_rates: Annotated[list[BurnRateSpec], Field(min_length=1)]


class SlaSpec(_Strict):
    priorities: dict[str, PrioritySpec]
    breached_tickets: BreachedTicketsSpec = Field(default_factory=lambda: BreachedTicketsSpec.model_validate({}))
    at_risk_horizon: DurationText = "1h"
    target_mismatch: AlertSpec
    breach_ratio: BreachRatioSpec
    slo: SloSpec


class KpiSpec(_Strict):
    title: str | None = None
    window: DurationText
    # Numbers, or durations for time KPIs; model.py checks which and the KPI's range.
    min: Number | str | None = None
    max: Number | str | None = None
    warn: Number | str | None = None
    by: Literal["overall", "team", "channel", "priority"] = "overall"
    min_samples: Annotated[int, Field(ge=1)] | None = None
    for_: DurationText = Field("30m", alias="for")
    severity: Severity = "ticket"
    alert: bool = True
    # On the wall (Grafana wall dashboard and the worker's /wall page); unset: model.DEFAULT_WALL_KPIS.
    wall: bool | None = None

    @model_validator(mode="after")
    def _one_direction(self) -> KpiSpec:
        if (self.min is None) == (self.max is None):
            raise ValueError("give exactly one of `min` (alert below) or `max` (alert above)")
        return self


class MaxAgeSpec(AlertSpec):
    max_age: DurationText


class ConsumerLagSpec(AlertSpec):
    max_messages: Annotated[int, Field(ge=1)]
    window: DurationText


class RejectedEventsSpec(AlertSpec):
    max_ratio: Ratio
    window: DurationText
    min_events: Annotated[int, Field(ge=1)]


class WindowAlertSpec(AlertSpec):
    window: DurationText


class PipelineSpec(_Strict):
    job: Annotated[str, Field(min_length=1)]
    worker_down: AlertSpec
    stale_data: MaxAgeSpec
    evaluation_stalled: MaxAgeSpec
    export_stale: MaxAgeSpec
    consumer_lag: ConsumerLagSpec
    rejected_events: RejectedEventsSpec
    dead_letter_failures: WindowAlertSpec
    label_values_capped: AlertSpec


class DatasourceSpec(_Strict):
    uid: Uid
    name: Annotated[str, Field(min_length=1)]
    url: Annotated[str, Field(min_length=1)]


class DashboardSpec(_Strict):
    uid: Uid
    title: Annotated[str, Field(min_length=1)]
    time_range: DurationText


class DashboardsSpec(_Strict):
    wall: DashboardSpec
    support_ops: DashboardSpec
    pipeline: DashboardSpec


class GrafanaSpec(_Strict):
    url: AbsoluteUrl = DEFAULT_GRAFANA_URL  # where people open Grafana: alerts link to dashboards there
    datasource: DatasourceSpec
    folder: Annotated[str, Field(min_length=1)]
    dashboards_path: Annotated[str, Field(min_length=1)]
    refresh: DurationText = "30s"
    dashboards: DashboardsSpec


class SpecV1(_Strict):
    version: Literal[1]
    # Unset: the project's documentation (default_runbook_url).
    runbook_url: AbsoluteUrl | None = None
    windows: Annotated[list[DurationText], Field(min_length=1)]
    min_sample_size: Annotated[int, Field(ge=1)]
    sla: SlaSpec
    kpis: dict[str, KpiSpec] = Field(default_factory=dict)
    pipeline: PipelineSpec
    grafana: GrafanaSpec


def default_runbook_url(pyproject: Path = PYPROJECT_PATH) -> str:
    """`[project.urls] Documentation` of pyproject.toml + "/runbook.md": the runbook on the
    project's repository host. Raises SpecError when it cannot be read."""
    try:
        docs = tomllib.loads(pyproject.read_text())["project"]["urls"]["Documentation"]
    except (OSError, KeyError, TypeError, tomllib.TOMLDecodeError) as exc:
        raise SpecError(
            f"runbook_url: not set in the spec, and the default ([project.urls] Documentation in {pyproject}) "
            f"cannot be read ({type(exc).__name__}: {exc}); set runbook_url to where the on-call reads docs/runbook.md"
        ) from None
    return f"{_absolute_url(docs)}/runbook.md"


def load_spec(path: Path = SPEC_PATH) -> SpecV1:
    """Read and check a spec file; every problem is reported at once in one SpecError."""
    try:
        raw = yaml.safe_load(Path(path).read_text())
    except OSError as exc:
        raise SpecError(f"{path}: cannot read the spec: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        raise SpecError(f"{path}: not valid YAML: {exc}") from exc
    return parse_spec(raw, source=str(path))


def parse_spec(raw: Any, source: str = "<spec>") -> SpecV1:
    if not isinstance(raw, dict):
        raise SpecError(f"{source}: the spec must be a mapping with `version: {SPEC_VERSION}` at the top")
    if "version" not in raw:
        raise SpecError(f"{source}: missing `version`; this build reads spec version {SPEC_VERSION}")
    if raw["version"] != SPEC_VERSION:
        raise SpecError(f"{source}: unsupported spec version {raw['version']!r}; this build reads version {SPEC_VERSION}")
    try:
        return SpecV1.model_validate(raw)
    except ValidationError as exc:
        lines = _merge_union_errors([_describe(error) for error in exc.errors()])
        raise SpecError(f"{source}: {len(lines)} problem(s):\n" + "\n".join(f"  - {line}" for line in lines)) from None


def _describe(error: ErrorDetails) -> str:
    loc = tuple(error["loc"])
    # Pydantic adds the union member it tried (e.g. `float`, `str`) to the location.
    loc = tuple(part for part in loc if not (isinstance(part, str) and part in _UNION_TAGS))
    where = ".".join(str(part) for part in loc) or "(top level)"
    if error["type"] == "extra_forbidden":
        allowed = _allowed_keys(SpecV1, loc[:-1])
        hint = f" (allowed here: {', '.join(allowed)})" if allowed else ""
        return f"{where}: unknown key{hint}"
    if error["type"] == "missing":
        return f"{where}: required key is missing"
    message = str(error["msg"]).removeprefix("Value error, ")
    got = error.get("input")
    return f"{where}: {message}" + ("" if isinstance(got, (dict, list)) else f" (got {got!r})")


def _merge_union_errors(lines: list[str]) -> list[str]:
    """A value that fits no member of a union yields one error per member: say it once."""
    merged: dict[str, list[str]] = {}
    for line in lines:
        where, _, message = line.partition(": ")
        merged.setdefault(where, []).append(message)
    out = []
    for where, messages in merged.items():
        if len(messages) > 1 and all(m.startswith("Input should be a valid ") for m in messages):
            kinds = [m.removeprefix("Input should be a valid ").split(" (got")[0] for m in messages]
            out.append(f"{where}: Input should be a valid {' or '.join(kinds)}")
        else:
            out.extend(f"{where}: {m}" for m in messages)
    return out


_UNION_TAGS = {"float", "int", "str", "bool", "function-after[_duration(), str]"}


def _allowed_keys(model: type[BaseModel], path: tuple[Any, ...]) -> list[str]:
    """The keys a mapping at `path` accepts, for 'unknown key' hints."""
    annotation: Any = model
    for part in path:
        annotation = _unwrap(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            field = next((f for name, f in annotation.model_fields.items() if (f.alias or name) == part), None)
            if field is None:
                return []
            annotation = field.annotation
        elif get_origin(annotation) in (dict, list):
            annotation = get_args(annotation)[-1]
        else:
            return []
    annotation = _unwrap(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [f.alias or name for name, f in annotation.model_fields.items()]
    return []


def _unwrap(annotation: Any) -> Any:
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    return annotation
