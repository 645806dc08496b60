"""The validated model: the spec resolved against the worker's metric conventions.

Generators see only this: durations as `Duration`, metric names from
`streams.conventions`, histogram bucket labels exactly as client_python writes them,
thresholds checked against each KPI's range. Building it raises `SpecError` listing
every problem.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from prometheus_client.utils import floatToGoString

from kpi.catalog import CATALOG, Kpi
from kpi.contract import PRIORITIES
from streams import conventions as c
from streams.codegen.durations import Duration
from streams.codegen.errors import SpecError
from streams.codegen.spec import SPEC_PATH, DashboardSpec, KpiSpec, SpecV1, default_runbook_url, load_spec

Direction = Literal["min", "max"]
Unit = Literal["none", "percentunit", "s"]

BREAKDOWN_LABELS = ("team", "channel", "priority")
# The wall dashboard shows SLA attainment over the last day.
DASHBOARD_SLI_WINDOW = Duration.parse("1d")
# The wall's KPIs when the spec marks none with `wall:` (the KPIs the wall always showed).
DEFAULT_WALL_KPIS = ("nps", "csat", "fcr_ratio", "first_response_time_p90_seconds", "resolution_time_p90_seconds")


@dataclass(frozen=True)
class KpiKind:
    """What a KPI may be compared with: its range, unit, sample-size KPI and breakdowns."""

    low: float
    high: float | None
    unit: Unit
    sample_kpi: str
    breakdowns: tuple[str, ...]

    @property
    def is_duration(self) -> bool:
        return self.unit == "s"


# A dashboard unit per exposed KPI unit (Grafana's names); anything else is a plain number.
_DASHBOARD_UNITS: dict[str, Unit] = {"ratio": "percentunit", "seconds": "s"}


def kpi_kinds(kpis: Iterable[Kpi]) -> dict[str, KpiKind]:
    """The KPIs a spec may set targets for (those of `kpis` with a `target`), by name."""
    return {
        k.name: KpiKind(k.target.low, k.target.high, _DASHBOARD_UNITS.get(k.metric_unit, "none"), k.target.sample_kpi, k.breakdowns)
        for k in kpis
        if k.target is not None
    }


KPI_KINDS: dict[str, KpiKind] = kpi_kinds(CATALOG)


@dataclass(frozen=True)
class Alerting:
    for_: Duration
    severity: str


@dataclass(frozen=True)
class SlaPriority:
    name: str
    target: Duration
    severity: str

    @property
    def le(self) -> str:
        """The histogram bucket label of the target, exactly as client_python writes it."""
        return floatToGoString(self.target.seconds)


@dataclass(frozen=True)
class BreachRatio:
    window: Duration
    max_ratio: float
    min_resolutions: int
    alerting: Alerting


@dataclass(frozen=True)
class BurnRate:
    severity: str
    long: Duration
    short: Duration
    factor: float
    for_: Duration


@dataclass(frozen=True)
class Slo:
    objective: float
    period: Duration
    burn_rates: tuple[BurnRate, ...]

    @property
    def error_budget(self) -> float:
        return round(1.0 - self.objective, 12)

    def severities(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(b.severity for b in self.burn_rates))


@dataclass(frozen=True)
class Sla:
    priorities: tuple[SlaPriority, ...]
    breached_for: Duration
    at_risk_horizon: str
    target_mismatch: Alerting
    breach_ratio: BreachRatio
    slo: Slo

    def rate_windows(self) -> tuple[Duration, ...]:
        """Every window a per-priority SLI is recorded over, shortest first."""
        windows = {self.breach_ratio.window, DASHBOARD_SLI_WINDOW}
        for burn in self.slo.burn_rates:
            windows |= {burn.long, burn.short}
        return tuple(sorted(windows))


@dataclass(frozen=True)
class KpiTarget:
    kpi: str
    metric: str
    title: str
    window: str
    direction: Direction
    limit: float
    warn: float | None
    by: str
    sample_kpi: str
    sample_metric: str
    min_samples: int
    alert: bool
    alerting: Alerting
    unit: Unit
    wall: bool

    @property
    def alert_name(self) -> str:
        stem = self.kpi.removesuffix("_seconds").removesuffix("_ratio")
        camel = "".join(part[:1].upper() + part[1:] for part in stem.split("_"))
        return f"Kpi{camel}{'BelowTarget' if self.direction == 'min' else 'AboveTarget'}"


@dataclass(frozen=True)
class Pipeline:
    job: str
    worker_down: Alerting
    stale_max_age: Duration
    stale: Alerting
    evaluation_max_age: Duration
    evaluation_stalled: Alerting
    export_max_age: Duration
    export_stale: Alerting
    lag_max_messages: int
    lag_window: Duration
    lag: Alerting
    rejected_max_ratio: float
    rejected_window: Duration
    rejected_min_events: int
    rejected: Alerting
    dead_letter_window: Duration
    dead_letter_failures: Alerting
    label_values_capped: Alerting


@dataclass(frozen=True)
class Dashboard:
    uid: str
    title: str
    time_range: Duration


@dataclass(frozen=True)
class Grafana:
    url: str  # Grafana's base URL, no trailing slash
    datasource_uid: str
    datasource_name: str
    datasource_url: str
    folder: str
    dashboards_path: str
    refresh: Duration
    wall: Dashboard
    support_ops: Dashboard
    pipeline: Dashboard


@dataclass(frozen=True)
class Model:
    source: str  # repository-relative path of the spec, for headers
    version: int
    runbook_url: str
    windows: tuple[str, ...]
    min_sample_size: int
    sla: Sla
    kpis: tuple[KpiTarget, ...]
    pipeline: Pipeline
    grafana: Grafana

    def runbook(self, alert_name: str) -> str:
        return f"{self.runbook_url}#{alert_name.lower()}"

    def dashboard_url(self, dashboard: Dashboard, **variables: str) -> str:
        """Absolute link to a dashboard, with template variables as `var-<name>=<value>`."""
        query = "&".join(f"var-{name}={value}" for name, value in variables.items())
        return f"{self.grafana.url}/d/{dashboard.uid}" + (f"?{query}" if query else "")

    @property
    def wall_kpis(self) -> tuple[KpiTarget, ...]:
        """The KPIs on the wall, in spec order."""
        return tuple(k for k in self.kpis if k.wall)

    def kpi(self, name: str) -> KpiTarget | None:
        return next((k for k in self.kpis if k.kpi == name), None)


def load_model(path: Path = SPEC_PATH) -> Model:
    return build_model(load_spec(path), source=_display_path(path))


def _display_path(path: Path) -> str:
    root = SPEC_PATH.parents[2]
    try:
        return str(Path(path).resolve().relative_to(root))
    except ValueError:
        return str(path)


def build_model(spec: SpecV1, source: str = "<spec>") -> Model:
    problems: list[str] = []
    d = Duration.parse

    # Kept as written: the worker uses the text as the `window` label value (24h, not 1d).
    windows = tuple(spec.windows)
    if len(set(windows)) != len(windows):
        problems.append(f"windows: listed twice in {list(spec.windows)}")

    missing = [p for p in PRIORITIES if p not in spec.sla.priorities]
    unknown = [p for p in spec.sla.priorities if p not in PRIORITIES]
    if missing:
        problems.append(f"sla.priorities: missing {', '.join(missing)} (every priority of the event contract needs a target)")
    if unknown:
        problems.append(f"sla.priorities: unknown priorities {', '.join(unknown)}; valid: {', '.join(PRIORITIES)}")
    priorities = tuple(
        SlaPriority(p, d(spec.sla.priorities[p].target), spec.sla.priorities[p].severity)
        for p in PRIORITIES
        if p in spec.sla.priorities
    )
    for prio in priorities:
        if prio.target.milliseconds < 1000:
            problems.append(f"sla.priorities.{prio.name}.target: must be at least 1s, got {prio.target}")

    slo_spec = spec.sla.slo
    burn_rates = tuple(BurnRate(b.severity, d(b.long), d(b.short), b.factor, d(b.for_)) for b in slo_spec.burn_rates)
    slo = Slo(slo_spec.objective, d(slo_spec.period), burn_rates)
    for i, burn in enumerate(burn_rates):
        if burn.factor * slo.error_budget > 1:
            problems.append(
                f"sla.slo.burn_rates.{i}.factor: {burn.factor} x error budget {slo.error_budget:g} > 1, "
                "an error ratio can never reach it"
            )
        if burn.long > slo.period:
            problems.append(f"sla.slo.burn_rates.{i}.long: {burn.long} is longer than the SLO period {slo.period}")

    br = spec.sla.breach_ratio
    breach_ratio = BreachRatio(d(br.window), br.max, br.min_resolutions or spec.min_sample_size, Alerting(d(br.for_), br.severity))
    sla = Sla(
        priorities, d(spec.sla.breached_tickets.for_), spec.sla.at_risk_horizon, _alerting(spec.sla.target_mismatch), breach_ratio, slo
    )

    kpis = []
    for name, kspec in spec.kpis.items():
        target = _kpi_target(name, kspec, spec, windows, problems)
        if target is not None:
            kpis.append(target)

    p = spec.pipeline
    pipeline = Pipeline(
        job=p.job,
        worker_down=_alerting(p.worker_down),
        stale_max_age=d(p.stale_data.max_age),
        stale=_alerting(p.stale_data),
        evaluation_max_age=d(p.evaluation_stalled.max_age),
        evaluation_stalled=_alerting(p.evaluation_stalled),
        export_max_age=d(p.export_stale.max_age),
        export_stale=_alerting(p.export_stale),
        lag_max_messages=p.consumer_lag.max_messages,
        lag_window=d(p.consumer_lag.window),
        lag=_alerting(p.consumer_lag),
        rejected_max_ratio=p.rejected_events.max_ratio,
        rejected_window=d(p.rejected_events.window),
        rejected_min_events=p.rejected_events.min_events,
        rejected=_alerting(p.rejected_events),
        dead_letter_window=d(p.dead_letter_failures.window),
        dead_letter_failures=_alerting(p.dead_letter_failures),
        label_values_capped=_alerting(p.label_values_capped),
    )
    for key in ("stale_data", "evaluation_stalled", "export_stale"):
        if d(getattr(p, key).max_age).milliseconds == 0:
            problems.append(f"pipeline.{key}.max_age: must be above 0s")

    g = spec.grafana
    dashboards = {key: _dashboard(getattr(g.dashboards, key)) for key in ("wall", "support_ops", "pipeline")}
    uids = [db.uid for db in dashboards.values()]
    if len(set(uids)) != len(uids):
        problems.append(f"grafana.dashboards: uids must differ, got {uids}")
    grafana = Grafana(g.url, g.datasource.uid, g.datasource.name, g.datasource.url, g.folder, g.dashboards_path, d(g.refresh), **dashboards)

    runbook_url = spec.runbook_url
    if runbook_url is None:
        try:
            runbook_url = default_runbook_url()
        except SpecError as exc:
            problems.append(str(exc))

    if problems:
        raise SpecError(f"{source}: {len(problems)} problem(s):\n" + "\n".join(f"  - {line}" for line in problems))
    assert runbook_url is not None
    return Model(source, spec.version, runbook_url, windows, spec.min_sample_size, sla, tuple(kpis), pipeline, grafana)


def _alerting(spec) -> Alerting:
    return Alerting(Duration.parse(spec.for_), spec.severity)


def _dashboard(spec: DashboardSpec) -> Dashboard:
    return Dashboard(spec.uid, spec.title, Duration.parse(spec.time_range))


def _kpi_target(name: str, k: KpiSpec, spec: SpecV1, windows: tuple[str, ...], problems: list[str]) -> KpiTarget | None:
    where = f"kpis.{name}"
    kind = KPI_KINDS.get(name)
    if kind is None:
        known = ", ".join(sorted(KPI_KINDS))
        other = " (a KPI without a target range)" if name in c.KPI_METRICS else ""
        problems.append(f"{where}: unknown KPI{other}; targets can be set for: {known}")
        return None
    before = len(problems)
    window = k.window
    if window not in windows:
        same = [w for w in windows if Duration.parse(w) == Duration.parse(window)]
        hint = f"; write it as {same[0]!r}, the text is the `window` label value" if same else ""
        problems.append(f"{where}.window: {window} is not one of the worker's windows {list(windows)}{hint}")
    if k.by != "overall" and k.by not in kind.breakdowns:
        problems.append(f"{where}.by: {name} has no {k.by!r} breakdown; use overall or one of {', '.join(kind.breakdowns)}")
    direction: Direction = "min" if k.min is not None else "max"
    limit = _threshold(f"{where}.{direction}", getattr(k, direction), kind, name, problems)
    warn = None if k.warn is None else _threshold(f"{where}.warn", k.warn, kind, name, problems)
    if limit is not None and warn is not None:
        if direction == "min" and not warn > limit:
            problems.append(f"{where}.warn: the amber band starts above `min`, so warn must be > {limit:g}, got {warn:g}")
        if direction == "max" and not warn < limit:
            problems.append(f"{where}.warn: the amber band starts below `max`, so warn must be < {limit:g}, got {warn:g}")
    if len(problems) > before or limit is None:
        return None
    metric = c.KPI_METRICS[name].name
    return KpiTarget(
        kpi=name,
        metric=metric,
        title=k.title or name,
        window=window,
        direction=direction,
        limit=limit,
        warn=warn,
        by=k.by,
        sample_kpi=kind.sample_kpi,
        sample_metric=c.KPI_METRICS[kind.sample_kpi].name,
        min_samples=k.min_samples or spec.min_sample_size,
        alert=k.alert,
        alerting=Alerting(Duration.parse(k.for_), k.severity),
        unit=kind.unit,
        wall=k.wall if k.wall is not None else name in DEFAULT_WALL_KPIS,
    )


def _threshold(where: str, value: float | int | str, kind: KpiKind, name: str, problems: list[str]) -> float | None:
    if kind.is_duration:
        if not isinstance(value, str):
            problems.append(f"{where}: {name} is a time; write the threshold as a duration (e.g. 30m, 4h), got {value!r}")
            return None
        try:
            number = Duration.parse(value).seconds
        except ValueError as exc:
            problems.append(f"{where}: {exc}")
            return None
    else:
        if isinstance(value, str) or isinstance(value, bool):
            problems.append(f"{where}: {name} needs a number, got {value!r}")
            return None
        number = float(value)
    high = "" if kind.high is None else f"{kind.high:g}"
    if number < kind.low or (kind.high is not None and number > kind.high):
        problems.append(f"{where}: {value} is out of range for {name} ({kind.low:g}..{high or 'inf'})")
        return None
    return number
