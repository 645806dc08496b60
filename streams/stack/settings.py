"""Settings of the person-facing local stack (`kpi-monitor stack ...`).

Each value comes from, in order: a command-line flag, a `KPI_STACK_*`
environment variable, the default here. The defaults avoid the usual clashes:
Alertmanager's own default 9093 is the controller port of many Kafka setups,
so the controller gets 19093 and Alertmanager 9094.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from streams.stack.alertmanager import DEFAULT_WEBHOOK_URL
from streams.stack.jars import DEFAULT_KAFKA_VERSION
from streams.stack.paths import JARS_CACHE_DIR, STACK_STATE_DIR
from streams.stack.topics import DEFAULT_DEAD_LETTER_PARTITIONS, DEFAULT_PARTITIONS

ENV_PREFIX = "KPI_STACK_"


class StackSettings(BaseSettings):
    """The local stack's settings: the state folder (data, logs, the state file), the ports of
    Kafka (broker and controller), Prometheus and Alertmanager, the worker address Prometheus
    scrapes and its scrape interval (seconds), the alert webhook, the topics' partition counts,
    the Kafka version and jars cache, and the start and stop timeouts (seconds). Each also a
    KPI_STACK_<NAME> variable; pydantic's ValidationError for a value out of range (ports
    1-65535, positive timeouts and partition counts)."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, frozen=True, extra="forbid")

    state_dir: Path = STACK_STATE_DIR
    kafka_port: int = Field(9092, ge=1, le=65535)
    kafka_controller_port: int = Field(19093, ge=1, le=65535)
    prometheus_port: int = Field(9090, ge=1, le=65535)
    alertmanager_port: int = Field(9094, ge=1, le=65535)
    # Where the worker serves /metrics; Prometheus scrapes it (it need not run yet).
    worker_metrics_address: str = "127.0.0.1:6066"
    alert_webhook_url: str = DEFAULT_WEBHOOK_URL
    scrape_interval_seconds: float = Field(5.0, gt=0)
    topic_partitions: int = Field(DEFAULT_PARTITIONS, ge=1)
    dead_letter_partitions: int = Field(DEFAULT_DEAD_LETTER_PARTITIONS, ge=1)
    kafka_version: str = DEFAULT_KAFKA_VERSION
    jars_cache_dir: Path = JARS_CACHE_DIR
    ready_timeout_seconds: float = Field(90.0, gt=0)
    stop_timeout_seconds: float = Field(30.0, gt=0)


def override_hint(field_name: str) -> str:
    """How a person changes a setting, e.g. '--kafka-port or KPI_STACK_KAFKA_PORT'."""
    return f"--{field_name.replace('_', '-')} or {ENV_PREFIX}{field_name.upper()}"
