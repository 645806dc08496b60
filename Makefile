# Developer entry points. `make test` is THE test command (CI runs exactly it).
# The local stack needs Java 17+, Maven, and Debian's prometheus and
# prometheus-alertmanager packages: see docs/local-stack.md.

PYTHON ?= python3.11
VENV := .venv
KPI := $(VENV)/bin/kpi-monitor

.PHONY: install jars up down status test deploy-config generate run

install:
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --upgrade pip
	$(VENV)/bin/pip install -e '.[dev,rocksdb]'
	$(MAKE) jars

# Kafka broker jars from Maven Central into .cache/kafka/<version>/libs (once).
jars:
	$(KPI) stack jars

# Kafka 127.0.0.1:9092, Prometheus :9090, Alertmanager :9094; state in var/stack.
up:
	$(KPI) stack up

down:
	$(KPI) stack down

status:
	$(KPI) stack status || true  # exits 3 when not everything runs; that is an answer, not a failure

# The whole suite; then, if the kpi/ core is compiled (kpi/*.so), its tests once more on the
# .py sources (KPI_MONITOR_PURE_PYTHON=1 imports them over the compiled modules).
test:
	$(VENV)/bin/python -m pytest
	if ls kpi/*.so >/dev/null 2>&1; then KPI_MONITOR_PURE_PYTHON=1 $(VENV)/bin/python -m pytest tests/kpi; fi

# Rewrites deploy/prometheus/*.yml and deploy/alertmanager/alertmanager.yml from
# their templates in streams/stack/; tests/deploy fails when they drift.
deploy-config:
	$(VENV)/bin/python -m streams.stack.render

# Rewrites deploy/prometheus/rules/*.yml and grafana/ (provisioning, dashboards) from the
# KPI spec deploy/spec/kpi-spec.v1.yaml; tests/streams/codegen fails when they drift.
generate:
	$(VENV)/bin/python -m streams.codegen

# Run a worker in the foreground against the local stack (metrics on 127.0.0.1:6066).
run:
	$(KPI) worker

# Stack + worker + live generator; prints the URLs; Ctrl-C stops what it started.
.PHONY: demo
demo:
	$(KPI) demo
