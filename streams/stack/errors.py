"""Errors raised by the local stack.

The message of each error is what a person sees from `kpi-monitor stack`, so
it names the thing that is wrong and how to fix or override it.
"""

from __future__ import annotations


class StackError(Exception):
    """A local-stack component could not be prepared, started or stopped."""


class PortInUseError(StackError):
    """A port the stack needs is already bound by another process."""


class ToolNotFoundError(StackError):
    """An external program (java, mvn, prometheus, alertmanager) is missing or unusable."""


class JarResolutionError(StackError):
    """Maven could not resolve the Kafka broker's jars."""


class ProcessExitedError(StackError):
    """A started process exited before it became ready."""


class ReadinessTimeoutError(StackError):
    """A started process did not become ready in time."""
