"""Errors raised by the event generator.

A bad setting raises the project's one `ConfigError` (`kpi.errors`), so every command reports
configuration mistakes the same way; what goes wrong while writing events is a `SinkError`.
"""

from __future__ import annotations

from kpi.errors import ConfigError

__all__ = ["ConfigError", "GeneratorError", "SinkError", "SinkUnavailable"]


class GeneratorError(Exception):
    """Base class for the generator's own runtime errors (writing events)."""


class SinkError(GeneratorError):
    """Writing events failed."""


class SinkUnavailable(SinkError):
    """The sink could not be opened (e.g. Kafka broker unreachable)."""
