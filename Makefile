# One command each: `make demo` installs what running needs and starts the service on
# the demo district, `make test` installs the test toolchain too and runs the tests
# (lint and type checks included).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
ARGS ?=

.PHONY: install install-runtime demo serve test lint bench wheel clean

# Python: the runtime alone (demo, serve), or with the test extra (test, lint, bench).
# The runtime goes in with uv (from PyPI): the same wheels as pip, installed in
# parallel and without compiling every module up front (BENCHMARKS.md, issue 14).
$(BIN)/.installed-runtime: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q uv
	$(BIN)/uv pip install -q --native-tls --python $(BIN)/python -e .
	touch $@

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -e '.[test]'
	touch $@ $(BIN)/.installed-runtime

# npm: three.js, MapLibre GL JS, Swagger UI and Redoc (served to browsers; their peer
# packages such as React are inside Redoc's standalone bundle) alone, or with the
# Khronos glTF validator (tests). `npm ci` empties node_modules first, so each stamp
# lives inside it.
node_modules/.runtime: package.json package-lock.json
	npm ci --omit=dev --omit=peer --no-audit --no-fund
	touch $@

node_modules/.all: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@ node_modules/.runtime

install-runtime: $(BIN)/.installed-runtime node_modules/.runtime

install: $(BIN)/.installed node_modules/.all

demo: install-runtime
	$(BIN)/blightmap serve --demo $(ARGS)

serve: install-runtime
	$(BIN)/blightmap serve $(ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy

test: lint
	$(BIN)/pytest $(ARGS)

bench: install
	$(BIN)/python bench/run_all.py

# The wheel, with the browser libraries copied in from node_modules (setup.py).
wheel: $(BIN)/.installed-runtime node_modules/.runtime
	$(BIN)/pip wheel --no-deps -w dist .

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build dist
