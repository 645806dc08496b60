"""Pure KPI domain: event contract, event-time windows, aggregates, KPI formulas, SLA policy.

Nothing in this package performs I/O or imports a streaming, Kafka or Prometheus
library; `tests/kpi/test_purity.py` enforces that. The replay command and the
stream worker both drive `kpi.engine.Engine`, so they cannot disagree.
"""
