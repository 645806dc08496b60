"""The worker's one typed settings object, from environment variables and/or a TOML file.

Environment variables start with `KPI_` and use `__` for nesting, e.g.
`KPI_KAFKA__BOOTSTRAP_SERVERS=broker:9092`, `KPI_SLA_TARGETS='{"urgent": "2h"}'`.
A file given with `--config` (TOML) is read first; environment variables override it.
Secrets are `SecretStr`: they print as '**********' in logs, reprs and errors.
Every model forbids unknown keys; `streams.settings_sources.load_settings` (what the worker
calls) also refuses unknown `KPI_*` variables and reports every mistake with its source.
"""

from __future__ import annotations

import os
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, create_model, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, TomlConfigSettingsSource

from kpi.config import GROUP_BY_DIMENSIONS, EngineConfig, SeriesSpec
from kpi.contract import TOPICS
from kpi.errors import ConfigError
from kpi.sla import DEFAULT_TARGETS_SECONDS, SlaPolicy
from kpi.durations import DAY_SECONDS
from kpi.windows import parse_duration_seconds

CONFIG_FILE_ENV = "KPI_CONFIG_FILE"
DEFAULT_DEAD_LETTER_TOPIC = "kpi-dead-letter"
# The TOML file `load_settings` checked (the --config flag); else $KPI_CONFIG_FILE is read.
CONFIG_FILE: ContextVar[str | None] = ContextVar("kpi_config_file", default=None)
_STRICT = ConfigDict(extra="forbid")
MIN_SHUTDOWN_SECONDS, MAX_SHUTDOWN_SECONDS = 1, 600


class KafkaSettings(BaseModel):
    model_config = _STRICT

    bootstrap_servers: str = "127.0.0.1:9092"
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_cafile: Path | None = None
    ssl_certfile: Path | None = None
    ssl_keyfile: Path | None = None
    ssl_keyfile_password: SecretStr | None = None
    consumer_group: str = "kpi-monitor"
    max_message_bytes: int = Field(1_048_576, gt=0, description="larger messages are dead-lettered as too_large")
    # How long a silent (crashed) worker keeps its partitions before the group reassigns them.
    session_timeout: str = "30s"

    @field_validator("session_timeout")
    @classmethod
    def _duration(cls, value: str) -> str:
        parse_duration_seconds(value)
        return value

    @model_validator(mode="after")
    def _consistent(self) -> KafkaSettings:
        if self.security_protocol.startswith("SASL") and not (self.sasl_mechanism and self.sasl_username and self.sasl_password):
            raise ValueError(f"security_protocol {self.security_protocol} needs sasl_mechanism, sasl_username and sasl_password")
        for name in ("ssl_cafile", "ssl_certfile", "ssl_keyfile"):
            path = getattr(self, name)
            if path is not None and not path.is_file():
                raise ValueError(f"{name} {path} does not exist or is not a file")
        return self


class StateSettings(BaseModel):
    """Durable partition state (streams/worker/checkpoints.py)."""

    model_config = _STRICT

    # How often each changed partition's state is written to the checkpoint topic with its
    # offset. A crash re-reads at most this much input.
    checkpoint_interval: str = "10s"
    # A larger checkpoint is not written (logged and counted); the previous one stays.
    max_checkpoint_bytes: int = Field(32 * 1024 * 1024, gt=0)
    # Of the internal topics the worker creates (checkpoints, partials); use 3 in production.
    replication_factor: int = Field(1, ge=1)

    @field_validator("checkpoint_interval")
    @classmethod
    def _duration(cls, value: str) -> str:
        parse_duration_seconds(value)
        return value


class _TopicNames(BaseModel):
    model_config = _STRICT

    dead_letter: str = DEFAULT_DEAD_LETTER_TOPIC

    def inputs(self) -> tuple[str, ...]:
        """The Kafka topic of each input topic of the event contract, in kpi.contract.TOPICS order."""
        return tuple(getattr(self, topic) for topic in TOPICS)


# One field per topic of the event contract (kpi.contract.TOPICS), named and defaulting as it:
# `topics.tickets` / KPI_TOPICS__TICKETS renames the tickets topic.
TopicSettings = create_model(  # type: ignore[call-overload]
    "TopicSettings", __base__=_TopicNames, **{topic: (str, topic) for topic in TOPICS}
)


class WebSettings(BaseModel):
    model_config = _STRICT

    host: str = "127.0.0.1"
    port: int = Field(6066, ge=0, le=65535)


class Settings(BaseSettings):
    # hide_input_in_errors: a validation error otherwise quotes its input, and the input of
    # the `kafka` section holds the SASL password (pydantic takes this from the outer model).
    model_config = SettingsConfigDict(env_prefix="KPI_", env_nested_delimiter="__", extra="forbid", hide_input_in_errors=True)

    kafka: KafkaSettings = KafkaSettings()
    topics: TopicSettings = TopicSettings()  # type: ignore[valid-type]
    web: WebSettings = WebSettings()
    state: StateSettings = StateSettings()
    trailing_windows: list[str] = Field(default_factory=lambda: ["5m", "1h", "24h"])
    grace: str = "5m"
    # Events further ahead of the wall clock are dead-lettered as future_timestamp: an event
    # ahead moves its partition's watermark ahead and makes on-time events late, so keep this
    # well below the grace. Default: 1m, or half the grace if that is shorter.
    max_future: str | None = None
    evaluation_interval: str = "5s"
    sla_targets: dict[str, str] = Field(default_factory=lambda: {p: f"{s}s" for p, s in DEFAULT_TARGETS_SECONDS.items()})
    at_risk_horizons: list[str] = Field(default_factory=lambda: ["15m", "30m", "1h"])
    reporting_currency: str = "USD"
    fx_rates: dict[str, float] = Field(default_factory=dict)
    group_by: list[str] = Field(default_factory=lambda: list(GROUP_BY_DIMENSIONS))
    max_label_values: int = Field(50, ge=1, le=10_000)
    label_allow: dict[str, list[str]] = Field(default_factory=dict)
    app_id: str = "kpi-monitor"
    # Hand fetched record batches straight to the engine (streams/worker/batching.py) instead of
    # Faust's per-record agent path; same delivery guarantees, several times the throughput.
    consumer_batching: bool = True
    data_dir: Path = Path("var/worker")
    # How long a stop (SIGTERM, SIGINT) may take before the worker exits anyway, with what it
    # could not write logged (streams/worker/shutdown.py). Keep it below your supervisor's
    # kill timeout (Kubernetes terminationGracePeriodSeconds, systemd TimeoutStopSec).
    shutdown_timeout: str = "10s"
    log_level: Literal["debug", "info", "warning", "error"] = "info"

    @field_validator("trailing_windows", "at_risk_horizons")
    @classmethod
    def _durations(cls, values: list[str]) -> list[str]:
        if not values:
            raise ValueError("must list at least one duration")
        for v in values:
            parse_duration_seconds(v)
        return values

    @model_validator(mode="after")
    def _future_within_grace(self) -> Settings:
        if self.max_future is not None and parse_duration_seconds(self.max_future) >= parse_duration_seconds(self.grace):
            raise ValueError(
                f"max_future ({self.max_future}) must be shorter than grace ({self.grace}): one event that far "
                "ahead would make every on-time event of its partition late"
            )
        return self

    @field_validator("shutdown_timeout")
    @classmethod
    def _shutdown_bounded(cls, value: str) -> str:
        seconds = parse_duration_seconds(value)
        if not MIN_SHUTDOWN_SECONDS <= seconds <= MAX_SHUTDOWN_SECONDS:
            raise ValueError(
                f"must be between {MIN_SHUTDOWN_SECONDS}s and {MAX_SHUTDOWN_SECONDS // 60}m, got {value}: "
                "a shutdown needs a moment to write its last checkpoint, and must still finish"
            )
        return value

    @field_validator("grace", "evaluation_interval", "max_future")
    @classmethod
    def _duration(cls, value: str | None) -> str | None:
        if value is not None:
            parse_duration_seconds(value)
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        path = CONFIG_FILE.get() or os.environ.get(CONFIG_FILE_ENV)
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if path:
            if not Path(path).is_file():
                raise ConfigError(f"{CONFIG_FILE_ENV}={path}: no such file")
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)

    # -- derived ---------------------------------------------------------------------------
    def max_future_seconds(self) -> float:
        if self.max_future is None:
            return min(60.0, self.grace_seconds() / 2)
        return float(parse_duration_seconds(self.max_future))

    def grace_seconds(self) -> int:
        return parse_duration_seconds(self.grace)

    def evaluation_interval_seconds(self) -> float:
        return max(0.2, float(parse_duration_seconds(self.evaluation_interval)))

    def checkpoint_interval_seconds(self) -> float:
        return max(1.0, float(parse_duration_seconds(self.state.checkpoint_interval)))

    def shutdown_timeout_seconds(self) -> float:
        """How long a stop may take (1 to 600 s) before the worker exits anyway (streams/worker/shutdown.py)."""
        return float(parse_duration_seconds(self.shutdown_timeout))

    def session_timeout_seconds(self) -> float:
        return max(6.0, float(parse_duration_seconds(self.kafka.session_timeout)))

    def checkpoint_topic(self) -> str:
        """Internal topic (compacted): each partition's latest engine state and offset."""
        return f"{self.app_id}-checkpoints"

    def partials_topic(self) -> str:
        """Internal topic: every worker's partial KPIs, merged by the exporting worker."""
        return f"{self.app_id}-partials"

    def trailing_windows_seconds(self) -> dict[str, int]:
        return {w: parse_duration_seconds(w) for w in self.trailing_windows}

    def at_risk_horizons_seconds(self) -> dict[str, int]:
        return {h: parse_duration_seconds(h) for h in self.at_risk_horizons}

    def engine_config(self) -> EngineConfig:
        return EngineConfig(
            window_seconds=series_bucket_seconds(min(self.trailing_windows_seconds().values())),
            grace_seconds=self.grace_seconds(),
            sla=SlaPolicy({p: parse_duration_seconds(v) for p, v in self.sla_targets.items()}),
            reporting_currency=self.reporting_currency,
            fx_rates=dict(self.fx_rates),
            group_by=tuple(self.group_by),
            max_label_values=self.max_label_values,
            label_allow={k: frozenset(v) for k, v in self.label_allow.items()},
        )

    def series_specs(self) -> dict[str, SeriesSpec]:
        """One bucketed series per trailing window; the coarsest one tracks stickiness.

        Stickiness is taken at bucket ends, so the coarsest buckets (typically hours)
        give the day-aligned DAU/MAU the KPI is defined on, at the least cost.
        """
        windows = sorted(self.trailing_windows_seconds().items(), key=lambda kv: kv[1])
        specs = {}
        for i, (name, seconds) in enumerate(windows):
            bucket = series_bucket_seconds(seconds)
            specs[name] = SeriesSpec(bucket, retain_closed=seconds // bucket, stickiness=(i == len(windows) - 1))
        return specs

    def redacted(self) -> dict[str, Any]:
        """For logs: SecretStr values are already masked by pydantic's JSON dump."""
        return self.model_dump(mode="json")

    def secret_values(self) -> list[str]:
        """The plain text of every secret, for the log redaction filter (streams/worker/redaction.py)."""
        secrets = (self.kafka.sasl_password, self.kafka.ssl_keyfile_password)
        return [s.get_secret_value() for s in secrets if s is not None and s.get_secret_value()]


_BUCKET_CHOICES_SECONDS = (5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600)


MIN_BUCKETS_PER_WINDOW = 20


def series_bucket_seconds(window_seconds: int) -> int:
    """The bucket size for a trailing window: the largest that still gives >= 20 buckets.

    A trailing window is its last N buckets including the one in progress, so it covers
    between (N-1)/N and all of the nominal window; more buckets mean a smoother edge but
    more work per scrape.
    """
    if window_seconds < 100 or DAY_SECONDS % window_seconds and window_seconds % DAY_SECONDS:
        raise ConfigError(
            f"trailing window {window_seconds} s is not supported: use at least 2m, and a size that "
            "divides a day or is a whole number of days (e.g. 5m, 15m, 1h, 24h)"
        )
    for bucket in reversed(_BUCKET_CHOICES_SECONDS):
        if window_seconds % bucket == 0 and window_seconds // bucket >= MIN_BUCKETS_PER_WINDOW:
            return bucket
    raise ConfigError(f"no bucket size fits trailing window {window_seconds} s")
