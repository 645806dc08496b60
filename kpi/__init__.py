"""Pure KPI domain: event contract, event-time windows, aggregates, KPI formulas, SLA policy.

Nothing in this package performs I/O or imports a streaming, Kafka or Prometheus
library; `tests/kpi/test_purity.py` enforces that. The replay command and the
stream worker both drive `kpi.engine.Engine`, so they cannot disagree.

Compiled modules. `pip install -e .` compiles the modules named in COMPILED_MODULES with
mypyc (setup.py reads this list) into `kpi/<module>.*.so`, which Python then imports
instead of the `.py`: an edit to one of these sources does nothing until the next
`pip install -e .` (or `rm kpi/*.so`). The test session refuses to start while a compiled
module is older than its source (tests/conftest.py). Install with
KPI_MONITOR_PURE_PYTHON=1 to compile nothing; run with KPI_MONITOR_PURE_PYTHON=1 to import
the sources even where compiled modules exist (`make test` runs tests/kpi once so).

Not compiled, on purpose: validation of settings (config, sla: a wrongly typed setting
must raise ConfigError, not a compiled TypeError), the msgspec Structs of `snapshots`
(compiled, a Struct loses its class options), and what runs per window or per checkpoint
rather than per event (formulas, catalog, merge, state).
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from importlib.machinery import ModuleSpec

# The hot path: modules run once per event.
COMPILED_MODULES = (
    "aggregates",
    "business_hours",
    "contract",
    "dedup",
    "engine",
    "errors",
    "labels",
    "partitions",
    "replay",
    "series",
    "sketches",
    "stickiness",
    "timestamps",
    "windows",
)
PURE_PYTHON_ENV = "KPI_MONITOR_PURE_PYTHON"


class _SourcesFirst:
    """A meta path finder (sys.meta_path) that finds the `.py` of a compiled module ahead
    of its `.so`."""

    def __init__(self, package_dir: str) -> None:
        self._package_dir = package_dir

    def find_spec(self, fullname: str, path: object = None, target: object = None) -> ModuleSpec | None:
        package, _, module = fullname.partition(".")
        if package != __name__ or module not in COMPILED_MODULES:
            return None
        source = os.path.join(self._package_dir, f"{module}.py")
        if not os.path.exists(source):
            return None
        from importlib.util import spec_from_file_location

        return spec_from_file_location(fullname, source)


if os.environ.get(PURE_PYTHON_ENV) == "1" and not any(isinstance(f, _SourcesFirst) for f in sys.meta_path):
    sys.meta_path.insert(0, _SourcesFirst(os.path.dirname(os.path.abspath(__file__))))
