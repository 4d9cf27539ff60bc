# One command each: `make demo` installs and runs the service on the demo district,
# `make test` installs and runs the tests (lint and type checks included).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
ARGS ?=

.PHONY: install demo serve test lint bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -U pip
	$(BIN)/pip install -q -e '.[test]'
	touch $@

# the Khronos glTF validator (tests), three.js (the AR preview page) and MapLibre GL JS
# (the live map), from npm
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund

install: $(BIN)/.installed node_modules/.package-lock.json

demo: install
	$(BIN)/blightmap serve --demo $(ARGS)

serve: install
	$(BIN)/blightmap serve $(ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy

test: lint
	$(BIN)/pytest $(ARGS)

bench: install
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
