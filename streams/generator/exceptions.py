"""Errors raised by the event generator, all under one base class."""

from __future__ import annotations


class GeneratorError(Exception):
    """Base class for every error the generator raises on purpose."""


class ConfigError(GeneratorError, ValueError):
    """A generator setting is out of range or inconsistent."""


class SinkError(GeneratorError):
    """Writing events failed."""


class SinkUnavailable(SinkError):
    """The sink could not be opened (e.g. Kafka broker unreachable)."""
