"""Tests of the pure KPI domain package `kpi/`, mirroring its modules."""
