# Kasane: everything a developer or CI runs. `make` alone lists the targets.
# Needs only python3.11, java 17 (a JDK), maven and openssl on the machine; the rest lands in .venv and deploy/kafka/target.

PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
KAFKA_JARS := deploy/kafka/target/.installed
CODE := contracts libs services projections deploy tests faults bench

.DEFAULT_GOAL := help
.PHONY: help install run test coverage lint format schemas schemas-check clean faults bench

help:
	@echo "Kasane — make targets"
	@echo "  make install        .venv with the project and its dev tools, Kafka jars (quick when done)"
	@echo "  make run            PostgreSQL, Kafka, the services, the dashboard and demo cases in the foreground; Ctrl-C stops"
	@echo "  make test           lint, then the whole test suite (real Kafka and PostgreSQL), with its coverage"
	@echo "  make coverage       the coverage report of the last make test again (.kasane/coverage/)"
	@echo "  make faults         fault injection (kill -9, broker and PostgreSQL restarts, network) and its checker's table"
	@echo "  make bench          speed of the city (~170,000 people) against same-run baselines → docs/bench.md (~15 min)"
	@echo "  make lint           ruff check and ruff format --check"
	@echo "  make format         ruff check --fix and ruff format"
	@echo "  make schemas        regenerate contracts/schemas from the event models"
	@echo "  make schemas-check  fail if contracts/schemas differs from the event models"
	@echo "  make clean          remove .kasane/ (local data and logs); keeps .venv and the jars"

install: $(INSTALLED) $(KAFKA_JARS)

$(PY):
	$(PYTHON) -m venv $(VENV)

# Re-installs when pyproject.toml changes; the stamp makes a repeated `make install` a no-op.
$(INSTALLED): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $@

# Kafka and its logging binding from Maven; fetched again (from scratch) when the pom changes.
$(KAFKA_JARS): deploy/kafka/pom.xml | $(INSTALLED)
	@if [ -f $@ ]; then echo "deploy/kafka/pom.xml changed: fetching the jars again"; rm -rf deploy/kafka/target/dependency; fi
	$(PY) -c 'from pathlib import Path; from deploy.local.kafka import LocalKafka; LocalKafka(Path(".kasane/run/kafka")).ensure_jars()'
	@touch $@

run: install
	$(PY) -m deploy.run

# Coverage of lines and branches, in the test process and in every Python process it starts (the
# services, the dashboard, `make run`): pyproject.toml [tool.coverage.*]. No floor; the status is pytest's.
# Each process saves .coverage.<host>.<pid>...; `coverage combine` makes them one before reporting.
COVERAGE := .kasane/coverage
COVERAGE_REPORT = $(PY) -m coverage html --quiet && $(PY) -m coverage json --quiet \
	&& $(PY) -m tests.coverage_by_package $(COVERAGE)/coverage.json \
	&& echo "Every file, line by line: $(COVERAGE)/html/index.html (and $(COVERAGE)/coverage.json)"

test: install lint
	@rm -rf $(COVERAGE)
	$(PY) -m coverage run -m pytest; status=$$?; \
	$(PY) -m coverage combine --quiet && $(COVERAGE_REPORT); exit $$status

# The report of the last `make test` (or `coverage run`) again.
coverage: install
	$(if $(wildcard $(COVERAGE)/.coverage.*),$(PY) -m coverage combine --quiet)
	@$(COVERAGE_REPORT)

# A few minutes: the whole fault schedule under a workload, then the checker (docs/faults.md).
faults: install
	$(PY) -m faults

# The bench's own tools (the eventsourcing peer, py-spy) land in .venv only when a bench is run.
BENCH_INSTALLED := $(VENV)/.installed-bench

$(BENCH_INSTALLED): pyproject.toml | $(INSTALLED)
	$(PY) -m pip install --quiet -e '.[dev,bench]'
	@touch $@

# About 15 minutes: loads the city, measures each figure and its baseline (docs/bench.md).
bench: install $(BENCH_INSTALLED)
	$(PY) -m bench

lint: install
	$(PY) -m ruff check $(CODE)
	$(PY) -m ruff format --check $(CODE)

format: install
	$(PY) -m ruff check --fix $(CODE)
	$(PY) -m ruff format $(CODE)

schemas: install
	$(PY) -m contracts.schemas

# The same check the test suite runs, on its own for a quick answer.
schemas-check: install
	$(PY) -m pytest -q tests/contracts/test_contracts.py::test_committed_json_schemas_match_the_models

clean:
	@if command -v pgrep >/dev/null && pgrep -f "$(CURDIR)/.kasane/" >/dev/null; then \
		echo "Processes still use .kasane/ (a running make run or test?); stop them first:"; \
		pgrep -af "$(CURDIR)/.kasane/"; exit 1; fi
	rm -rf .kasane
