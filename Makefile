# Sigurno: `make run` starts the bot on the embedded default; `make test` runs every check.
SHELL  := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: help install model run test lint typecheck content-check browser unit bench clean

help:
	@echo "make run    set up and start Sigurno on http://127.0.0.1:8080 (SQLite, no tokens needed)"
	@echo "make test   set up and run lint, type checks and the whole test suite"
	@echo "make bench  print NLU (and server) speed and memory figures"

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "Sigurno needs Python 3.11")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	@touch $@

install: $(STAMP)

model: $(STAMP)
	$(BIN)/sigurno nlu train --if-stale

run: model
	$(BIN)/sigurno serve

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy .

content-check: $(STAMP)
	$(BIN)/sigurno content check
	@if [ -f ../shared/tools/check_phones.py ]; then $(BIN)/python ../shared/tools/check_phones.py content ../shared/facts/FACTS.md; \
	 else echo "content-check: ../shared/tools/check_phones.py not found: phone check against the shared fact sheet skipped"; fi

browser:
	@bash scripts/ensure-chromium.sh

# pytest-xdist: whole test files per worker (module-scoped servers start once), the slowest files first
# (tests/conftest.py). 3 workers on 2 cores: one mostly waits on the low-priority training test.
# `make unit PYTEST_WORKERS=0` runs in one process.
PYTEST_WORKERS ?= 3

unit: model browser
	. scripts/test-services.sh && $(BIN)/python -m pytest -q -n $(PYTEST_WORKERS) --dist loadfile --no-loadscope-reorder

test: lint typecheck content-check unit

bench: model
	$(BIN)/python scripts/bench_nlu.py
	$(BIN)/python scripts/bench_webhooks.py

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache
