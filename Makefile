# Every target documents itself: `make help`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The suite mostly waits on databases and subprocesses; 3 processes suit a 2-core machine.
PYTEST_WORKERS ?= 3

.DEFAULT_GOAL := help
# Both locks are resolved for every platform and Python 3.11+, with hashes (`make lock`).
LOCK_FLAGS := --universal --python-version 3.11 --generate-hashes --custom-compile-command "make lock"

.PHONY: help install lock run test test-client lint lint-js typecheck check bench clean

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(STAMP): pyproject.toml requirements-dev.lock
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
		|| { echo "aiclone needs Python 3.11 or newer; run: make PYTHON=python3.12 ..."; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements-dev.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@touch $(STAMP)

install: $(STAMP) ## Create .venv and install aiclone with its dev tools, at the versions of requirements-dev.lock

lock: $(STAMP) ## Re-resolve requirements.lock (runtime) and requirements-dev.lock from pyproject.toml
	$(BIN)/uv pip compile pyproject.toml $(LOCK_FLAGS) --quiet -o requirements.lock
	$(BIN)/uv pip compile pyproject.toml $(LOCK_FLAGS) --quiet --extra granian --extra dev -o requirements-dev.lock

run: $(STAMP) ## Run the service on http://127.0.0.1:8000 (embedded SQLite, migrated automatically)
	$(BIN)/aiclone serve

test: $(STAMP) ## Run the whole test suite (SQLite and, when reachable, PostgreSQL)
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS)

test-client: $(STAMP) ## Build and test the TypeScript client, the Zapier app and the dashboard's JS modules (needs Node.js and Chromium)
	cd clients/typescript && AICLONE_PYTHON=$(abspath $(BIN))/python ./ci.sh
	cd integrations/zapier && AICLONE_PYTHON=$(abspath $(BIN))/python ./ci.sh
	node --test tests/js/

lint: $(STAMP) lint-js ## Ruff lint and format check; import-linter contracts (layers, no cycles; pyproject.toml); the dashboard's JS (lint-js)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

# Node.js is a build and test tool only: the service serves the modules as they are.
DASHBOARD := src/aiclone/dashboard
$(DASHBOARD)/node_modules/.package-lock.json: $(DASHBOARD)/package-lock.json
	cd $(DASHBOARD) && npm ci --no-audit --no-fund --loglevel=error

lint-js: $(DASHBOARD)/node_modules/.package-lock.json ## tsc --checkJs --noEmit and ESLint on the dashboard's ES modules (needs Node.js)
	cd $(DASHBOARD) && npm run --silent typecheck
	cd $(DASHBOARD) && npm run --silent lint

typecheck: $(STAMP) ## mypy --strict on src/
	$(BIN)/mypy

check: lint typecheck test ## Everything CI runs

bench: $(STAMP) ## Run the benchmarks (see bench/README.md; uses wrk when installed)
	$(BIN)/python bench/http_me.py --rounds 3

clean: ## Remove the virtualenv, caches and the local database
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
