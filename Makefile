# Everything runs from virtualenvs made with $(PYTHON) (on Debian: apt-get install python3-venv),
# so only the system's python3 is needed, never pip on the system Python (PEP 668).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# A virtualenv is (re)installed when the packaging metadata changes, else left alone.
METADATA := setup.cfg pyproject.toml
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install static test lint demo bench

# The package with its test extras, and the npm packages of the JS and Node tests.
install: $(VENV)/.installed-test node_modules/.package-lock.json

# The demo needs the package only: the sockjs-client bundle is committed, no npm.
$(VENV)/.installed-demo: $(METADATA)
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -e .
	touch $@

$(VENV)/.installed-test: $(METADATA)
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -e '.[test]' mypy
	touch $@

# npm ci writes node_modules/.package-lock.json: it reruns when the lockfile changes.
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund

# Re-vendor the pinned sockjs-client from npm into static/ (and its provenance file); commit
# the result. Needed only after changing its version in package.json.
static:
	npm ci --no-audit --no-fund
	npm run vendor

# Every test: Python (unit, protocol, gunicorn, redis-server, Chromium, packaging) then the JS
# unit tests.
# pytest's exit code 5 (no tests collected) is a failure like any other non-zero code.
test: install
	$(PY) -m pytest
	npm test

# Linters, from the test virtualenv; mypy goes here too.
lint: $(VENV)/.installed-test
	$(PY) -m ruff check clientsignal tests examples bench

# The ping/pong example on http://$(HOST):$(PORT), in-process backend, no Redis, no npm.
demo: $(VENV)/.installed-demo
	$(MAKE) -C examples/simple demo PYTHON=$(abspath $(PY)) HOST=$(HOST) PORT=$(PORT)

bench: install
	$(PY) -m bench
