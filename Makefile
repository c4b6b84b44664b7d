# rems-engine: `make help` lists the targets. People and .ci/run use the same ones.
.DEFAULT_GOAL := help
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
LOCK := requirements/dev.lock
# Reinstall when pyproject.toml or the lock changes.
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml $(LOCK) | cksum | cut -d' ' -f1)
# One resolution for every platform (the Docker image included), hashes for every file.
UV_COMPILE := $(BIN)/uv pip compile pyproject.toml --universal --python-version 3.11 --generate-hashes -q

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml $(LOCK)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --require-hashes -r $(LOCK)
	$(BIN)/python -m pip install -q --no-deps -e .
	rm -f $(VENV)/.installed-*; touch $(STAMP)

install: $(STAMP) ## Create the virtualenv: the locked dependencies (requirements/dev.lock), then the project

lock: install ## Re-resolve requirements/*.lock from pyproject.toml (UPGRADE=1: newest allowed versions)
	$(UV_COMPILE) --extra dev $(if $(UPGRADE),--upgrade) -o requirements/dev.lock
	$(UV_COMPILE) -c requirements/dev.lock -o requirements/main.lock

run: install ## Start the HTTP API on 127.0.0.1:8000 (SQLite var/rems.db), with demo data and tokens
	$(BIN)/rems init
	$(BIN)/rems seed-demo
	$(BIN)/rems serve --host 127.0.0.1 --port 8000

worker: install ## Run a Celery worker and beat (reminders, expiry) on the embedded SQLite broker, or REMS_BROKER_URL
	$(BIN)/rems init
	trap 'kill 0' EXIT; (until $(BIN)/rems notifications beat; do echo "beat exited; restarting in 5 s" >&2; sleep 5; done) & \
	$(BIN)/rems notifications worker

demo: install ## Walk an FRP patient through the CLI on an embedded SQLite database
	$(BIN)/rems demo

lint: install ## ruff, mypy (strict on workflows, domain, services and the entry points), the import contracts (pyproject.toml)
	$(BIN)/ruff check rems workflows workers tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports --no-logo

system-deps: ## Install the Debian packages the suite needs (PostgreSQL, Redis, Chromium, docker-compose)
	bash tests/setup/system_deps.sh

test: lint system-deps ## Lint, then the whole test suite on 2 workers (installs what it needs)
	$(BIN)/pytest -n 2 -q

test-fast: install ## The inner loop: unit and service tests on SQLite only, no lint (about 30 s)
	REMS_TEST_DATABASES=sqlite $(BIN)/pytest -n 2 -q tests/unit tests/service

fuzz: install ## Long fuzz: the gate against its oracle, then hostile input on every interface and both stores (docs/input.md)
	REMS_FUZZ_EXAMPLES=$${REMS_FUZZ_EXAMPLES:-2000} $(BIN)/pytest -q -n 0 tests/unit/test_oracle_gate.py --hypothesis-show-statistics
	REMS_FUZZ_API_EXAMPLES=$${REMS_FUZZ_API_EXAMPLES:-25} REMS_FUZZ_CORPUS_EXAMPLES=$${REMS_FUZZ_CORPUS_EXAMPLES:-500} \
	  $(BIN)/pytest -q -n 0 tests/api/test_fuzz.py tests/api/test_fuzz_corpus.py

mutation: install ## Mutation testing of rems/domain against tests/unit (mutmut; results: .venv/bin/mutmut results)
	REMS_TEST_DATABASES=sqlite $(BIN)/mutmut run --max-children 2

screenshots: install ## Refresh docs/screenshots/ (the pictures of docs/dashboard.md) from the browser tests
	REMS_SCREENSHOT_DIR=docs/screenshots REMS_TEST_DATABASES=sqlite $(BIN)/pytest -q -n 0 tests/browser

bench: install ## Benchmarks (SQLite and PostgreSQL, sweep to 1 M patients): table in docs/benchmarks/
	$(BIN)/python -m benchmarks.run

bench-quick: install ## The benchmark harness in seconds (figures mean nothing; proves it runs)
	$(BIN)/python -m benchmarks.run --quick

translations: install ## Extract the strings to rems/locales/messages.pot and merge them into each language's .po (issue 18 item 5)
	$(BIN)/pybabel extract -F babel.cfg -k N_ -k ngettext:1,2 --no-location --sort-output --omit-header \
	  --add-comments=Translators: -o rems/locales/messages.pot .
	$(BIN)/pybabel update -i rems/locales/messages.pot -d rems/locales -D messages --no-fuzzy-matching --ignore-obsolete

diagrams: install ## Regenerate the state machine diagrams in docs/workflows.md
	$(BIN)/rems diagrams --file docs/workflows.md

clean: ## Remove the virtualenv and local databases
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache .hypothesis

.PHONY: help install lock system-deps run worker demo lint test test-fast fuzz mutation screenshots bench bench-quick translations diagrams clean
