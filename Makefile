# Developer entry points. `make test` is THE test command (CI runs exactly it).
# `make install` sets up everything, system packages included (see
# deploy/install-system-packages.sh); `make dev` does the same with pure Python kpi/.

PYTHON ?= python3.11
VENV := .venv
KPI := $(VENV)/bin/kpi-monitor
# What the last pip install built: compiled (mypyc) or pure Python. Each stamp is
# newer than the sources it was built from, so a second install skips pip.
COMPILED_STAMP := $(VENV)/.installed-compiled
PURE_STAMP := $(VENV)/.installed-pure
PROJECT_FILES := pyproject.toml setup.py

.PHONY: install dev system-packages jars up down status test deploy-config generate run

# System packages (apt-get as root; otherwise it says what to run), the venv, the
# project with its hot kpi/ modules compiled by mypyc, the Kafka jars.
install: $(COMPILED_STAMP)
	@$(MAKE) --no-print-directory jars

# As `install`, but kpi/ stays pure Python (KPI_MONITOR_PURE_PYTHON=1): edits to
# kpi/*.py take effect without a rebuild. `make install` compiles again.
dev: $(PURE_STAMP)
	@$(MAKE) --no-print-directory jars

system-packages:
	@PYTHON=$(PYTHON) deploy/install-system-packages.sh

$(VENV)/bin/python: | system-packages
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip

$(COMPILED_STAMP): $(PROJECT_FILES) $(wildcard kpi/*.py) | system-packages $(VENV)/bin/python
	$(VENV)/bin/pip install -q -e '.[dev,rocksdb]'
	@rm -f $(PURE_STAMP) && touch $@

# Compiled modules left from `make install` would shadow the .py files: removed first.
$(PURE_STAMP): $(PROJECT_FILES) | system-packages $(VENV)/bin/python
	rm -f kpi/*.so *__mypyc*.so
	KPI_MONITOR_PURE_PYTHON=1 $(VENV)/bin/pip install -q -e '.[dev,rocksdb]'
	@rm -f $(COMPILED_STAMP) && touch $@

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

# Rewrites deploy/prometheus/*.yml and deploy/alertmanager/*.yml from
# their templates in streams/stack/; tests/deploy fails when they drift.
deploy-config:
	$(VENV)/bin/python -m streams.stack.render

# Rewrites deploy/prometheus/rules/*.yml and grafana/ (provisioning, dashboards) from the
# KPI spec deploy/spec/kpi-spec.v1.yaml, and the KPI tables of docs/kpis.md and
# docs/metrics.md from kpi/catalog.py; tests/streams/codegen and tests/kpi/test_catalog.py
# fail when they drift.
generate:
	$(VENV)/bin/python -m streams.codegen
	$(VENV)/bin/python -m streams.codegen.kpi_docs

# Run a worker in the foreground against the local stack (metrics on 127.0.0.1:6066).
run:
	$(KPI) worker

# Stack + worker + live generator; prints the URLs; Ctrl-C stops what it started.
.PHONY: demo
demo:
	$(KPI) demo
