"""Synthetic event generator: a seeded simulation of a service desk and its
customers, written as contract-v1 events to JSONL files or Kafka, with
optional faults (duplicates, late, out-of-order, malformed records).

    config = GeneratorConfig(seed=7, start_seconds=parse_rfc3339_seconds("2024-05-01T00:00:00Z"))
    summary = asyncio.run(run(config, RunLimits(count=10_000), JsonlSink("events.jsonl")))

See docs/generator.md for the model and the options.
"""

from streams.generator.config import FaultConfig, GeneratorConfig, RunLimits
from streams.generator.exceptions import ConfigError, GeneratorError, SinkError, SinkUnavailable
from streams.generator.faults import FaultCounts, FaultInjector, Record
from streams.generator.routing import ROUTES, TopicNames
from streams.generator.runner import GeneratorRun, RunSummary, run
from streams.generator.simulation import Event, Simulation
from streams.generator.sinks import JsonlSink, Sink
from streams.generator.timefmt import parse_cli_duration_seconds, parse_rfc3339_seconds

__all__ = [
    "ConfigError",
    "Event",
    "FaultConfig",
    "FaultCounts",
    "FaultInjector",
    "GeneratorConfig",
    "GeneratorError",
    "GeneratorRun",
    "JsonlSink",
    "ROUTES",
    "Record",
    "RunLimits",
    "RunSummary",
    "Simulation",
    "Sink",
    "SinkError",
    "SinkUnavailable",
    "TopicNames",
    "parse_cli_duration_seconds",
    "parse_rfc3339_seconds",
    "run",
]
