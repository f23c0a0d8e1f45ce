PYTHON ?= python3
PIP ?= $(PYTHON) -m pip

.PHONY: install static test test-python test-js lint demo bench

# Python package with test extras, the pinned sockjs-client from npm, copied into static/.
install:
	$(PIP) install -q -e '.[test]'
	npm ci --no-audit --no-fund
	npm run vendor

static: clientsignal/static/clientsignal/sockjs.min.js

clientsignal/static/clientsignal/sockjs.min.js: package-lock.json
	npm ci --no-audit --no-fund
	npm run vendor

# Every test: Python (unit, protocol, gunicorn, redis-server, Chromium) then the JS unit tests.
# pytest's exit code 5 (no tests collected) is a failure like any other non-zero code.
test: install
	$(PYTHON) -m pytest
	npm test

lint:
	ruff check clientsignal tests examples bench

# The ping/pong example on http://127.0.0.1:8000, in-process backend, no Redis.
demo: install
	$(MAKE) -C examples/simple demo PYTHON=$(PYTHON)

bench: install
	$(PYTHON) -m bench
