"""The one exception of the spec compiler."""

from __future__ import annotations


class SpecError(ValueError):
    """The spec cannot be read or is invalid. The message names the file and each bad key."""
