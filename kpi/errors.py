"""One exception tree for the domain package."""


class KpiError(Exception):
    """Base class of every error raised by `kpi`."""


class ConfigError(KpiError, ValueError):
    """A setting is invalid; the message says which one and what would be valid."""


class StateError(KpiError, ValueError):
    """Saved engine state (a checkpoint or a partial view) that cannot be restored: corrupt,
    from another format version, or from another configuration. The message says which."""
