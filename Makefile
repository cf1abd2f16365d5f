# The project's commands. `make run` and `make test` set up everything they need first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
VENDOR := static/vendor
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: run test lint bench browser clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.run-deps: requirements.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements.txt
	touch $@

$(VENV)/.dev-deps: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@ $(VENV)/.run-deps

# Browser libraries pinned in package.json, copied into the git-ignored static/vendor/ (never a CDN, nothing committed).
$(VENDOR)/.installed: package.json package-lock.json
	@command -v npm >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null; }
	npm ci --no-audit --no-fund --omit=dev --silent
	mkdir -p $(VENDOR)/chart.js
	cp node_modules/chart.js/dist/chart.umd.min.js node_modules/chart.js/dist/chart.umd.min.js.map node_modules/chart.js/LICENSE.md $(VENDOR)/chart.js/
	touch $@

## run: the site with demo data on http://127.0.0.1:$(PORT) (embedded PostgreSQL/Redis unless DATABASE_URL/REDIS_URL)
run: $(VENV)/.run-deps $(VENDOR)/.installed
	$(BIN)/python scripts/run.py

## browser: Debian's Chromium for the browser tests (Playwright cannot download its own here)
browser:
	@command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

## test: the whole suite against real PostgreSQL and Redis (local ones, started if down; else embedded)
test: $(VENV)/.dev-deps browser $(VENDOR)/.installed
	$(BIN)/python scripts/services.py --prefer-local -- $(BIN)/python -m pytest $(PYTEST_ARGS)

## lint: formatting, lint rules and types
lint: $(VENV)/.dev-deps
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy .

## bench: performance figures (printed, not asserted); wrk and pgbench come from Debian
bench: $(VENV)/.dev-deps
	@command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
	@command -v pgbench >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-contrib >/dev/null; }
	DEBUG=false $(BIN)/python scripts/services.py --prefer-local -- $(BIN)/python scripts/bench_asgi.py
	$(BIN)/python scripts/services.py --prefer-local -- $(BIN)/python scripts/bench_auctions.py
	DEBUG=false $(BIN)/python scripts/services.py --prefer-local -- $(BIN)/python scripts/bench_loan_tape.py
	DEBUG=false $(BIN)/python scripts/services.py --prefer-local -- $(BIN)/python scripts/bench_fanout.py

clean:
	rm -rf $(VENV) .state .pytest_cache .mypy_cache .ruff_cache test-artifacts node_modules $(VENDOR)
