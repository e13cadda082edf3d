# Every target sets itself up: a virtualenv in .venv, Airflow's home and metadata DB in .airflow (both git-ignored).
PYTHON ?= python3
VENV := $(CURDIR)/.venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
export AIRFLOW_HOME := $(CURDIR)/.airflow
export AIRFLOW__CORE__LOAD_EXAMPLES := False
export AIRFLOW__CORE__DAGS_FOLDER := $(CURDIR)/dags
export AIRFLOW__CORE__PLUGINS_FOLDER := $(CURDIR)/plugins

.PHONY: demo test docs ui-test lint bench bench-scale sandbox standalone distributed lab clean

# One step installs the workspace: the runtime package, the local HubSpot and the lab (packages/), editable.
$(INSTALLED): pyproject.toml packages/hubspot-sandbox/pyproject.toml packages/hubspot-commerce-lab/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check uv
	$(VENV)/bin/uv pip install --quiet --python $(PY) -e . -e packages/hubspot-sandbox -e packages/hubspot-commerce-lab \
		--group dev
	touch $@

## demo: generate the sample store, start the sandbox, run the sync DAG, print the report, stop the sandbox
demo: $(INSTALLED)
	$(PY) -m hubspot_commerce_lab.demo

## test: lint, the docs, and every test (unit, sandbox over real HTTP, DAG end to end)
test: $(INSTALLED)
	$(VENV)/bin/ruff check .
	$(MAKE) docs
	$(VENV)/bin/pytest -q
	$(MAKE) ui-test

## docs: the documentation site (docs/) into .site/, --strict: a broken link or anchor, a page left out of the
## navigation, a Python object or documented parameter that does not exist fails the build (never --quiet:
## it hides the warnings --strict counts)
docs: $(INSTALLED)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict

## ui-test: airflow standalone (sandbox, sample store) driven in headless Chromium; screenshots in .ui-test/
ui-test: $(INSTALLED)
	command -v chromium >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)
	$(VENV)/bin/pytest -q -m ui tests/ui

lint: $(INSTALLED)
	$(VENV)/bin/ruff check .

## bench: throughput figures against the sandbox (sandbox capacity, operator vs a hand-written loop, the whole DAG)
bench: $(INSTALLED)
	$(PY) bench/bench_sandbox.py
	$(PY) bench/bench_batch.py
	$(PY) bench/bench_dag.py

## bench-scale: the sandbox's bytes per record, then the whole DAG on 100,000- and 1,000,000-order stores (SCALE lines)
bench-scale: $(INSTALLED)
	$(PY) bench/bench_sandbox_memory.py
	$(PY) bench/bench_scale.py

## sandbox: run the local HubSpot sandbox in the foreground on port 8765
sandbox: $(INSTALLED)
	$(VENV)/bin/hubspot-sandbox --port 8765 --token demo-token

## standalone: Airflow's UI, scheduler and the sandbox together, to trigger the DAG and start backfills by hand
standalone: $(INSTALLED)
	$(PY) -m hubspot_commerce_lab.demo --standalone

## distributed: CeleryExecutor with two workers on PostgreSQL, Redis and S3 (moto); run, backfill, check, tear down
# STORE, HUBSPOT_URL, HUBSPOT_TOKEN and KEEP reach the lab through the environment: make exports variables set
# on its command line, and a recipe that named them would echo the token.
distributed: $(INSTALLED)
	$(PY) -m hubspot_commerce_lab.distributed

## lab: the lab's deployments as tests: make distributed on the sample store, judged by its DISTRIBUTED line;
## then on a store with bad rows and an already-running HubSpot, a Celery worker killed mid-write (FAULT=kill-worker),
## the verdict asserted record by record and everything searched for the token; the demo searched too (about 15 min)
lab: $(INSTALLED)
	$(VENV)/bin/pytest -q -m lab tests/lab

clean:
	rm -rf $(VENV) .airflow .airflow-test .demo .bench .ui-test .site
