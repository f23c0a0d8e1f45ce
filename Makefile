# Everything runs from virtualenvs made with $(PYTHON) (on Debian: apt-get install python3-venv),
# so only the system's python3 is needed, never pip on the system Python (PEP 668).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# The Django-facing tests again on the lowest versions setup.cfg declares (Django 4.2.0, the
# oldest Django we claim): uv (from PyPI, into this virtualenv) installs every
# dependency at its floor (--resolution lowest-direct), then the test tools at their newest;
# scripts/check_floors.py fails if a test tool moved a dependency off its floor.
VENV_LOWEST := .venv-lowest
PY_LOWEST := $(VENV_LOWEST)/bin/python
UV_LOWEST := $(VENV_LOWEST)/bin/uv pip install -q --python $(PY_LOWEST)
# A virtualenv is (re)installed when the packaging metadata changes, else left alone.
METADATA := setup.cfg pyproject.toml
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install static test lint demo bench release npm docs

# The package with its test extras and the documentation's tools, and the npm packages of the
# JS and Node tests.
install: $(VENV)/.installed-test $(VENV)/.installed-docs node_modules/.package-lock.json

# The demo needs the package only: the sockjs-client bundle is committed, no npm.
$(VENV)/.installed-demo: $(METADATA)
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -e .
	touch $@

$(VENV)/.installed-test: $(METADATA)
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -e '.[test]' mypy
	touch $@

# The documentation's tools (Sphinx, MyST, the furo theme), pinned in docs/requirements.txt, into
# the test virtualenv: autodoc imports the package, Django and pytest (the testing helpers'
# plugin), which make test has there anyway. Alone (make docs) it needs no test extra, so no
# compiler: the package, pytest and the tools.
$(VENV)/.installed-docs: $(METADATA) docs/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -e . pytest -r docs/requirements.txt
	touch $@

$(VENV_LOWEST)/.installed: $(METADATA)
	rm -rf $(VENV_LOWEST)
	$(PYTHON) -m venv $(VENV_LOWEST)
	$(PY_LOWEST) -m pip install -q uv
	$(UV_LOWEST) --resolution lowest-direct -e .
	$(UV_LOWEST) -e '.[test]'
	$(PY_LOWEST) scripts/check_floors.py
	touch $@

# npm ci writes node_modules/.package-lock.json: it reruns when the lockfile changes.
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund

# Re-vendor the pinned sockjs-client from npm into static/ (and its provenance file); commit
# the result. Needed only after changing its version in package.json.
static:
	npm ci --no-audit --no-fund
	npm run vendor

# On the lowest versions (Django 4.2.0 among them): the Django-facing tests (settings, checks,
# template tag, signals through the SockJS core, the testing helpers, the examples' own tests),
# one Chromium test of the chat example (logging in through Django's auth views, two users over
# websocket and xhr-polling, each authenticated from its Django session cookie), the database
# tests (PostgreSQL and MariaDB, every driver: their connection handling reaches into
# Django's), and gunicorn's worker serving the examples (every transport in Chromium, the
# start-up checks) and the deployment (nginx in front). Not the Redis isolation runs in a row
# (manage.py test and pytest in subprocesses, twice each: the newest versions run them).
LOWEST_TESTS := tests/api tests/testing tests/examples/test_example_tests.py \
	tests/examples/test_chat_example.py::test_two_users_chat \
	tests/examples/test_simple_example.py tests/deploying/test_nginx.py tests/databases \
	--deselect tests/testing/test_redis_isolation.py

# Every test: Python (unit, protocol, gunicorn, redis-server, PostgreSQL, MariaDB, Chromium,
# nginx, packaging, the documentation site built strictly) on the newest versions, the
# Django-facing part again on the lowest declared versions (LOWEST_TESTS), then the JS unit tests.
# pytest's exit code 5 (no tests collected) is a failure like any other non-zero code. Most
# tests wait on servers, browsers and the network, so they run in as many processes as there
# are cores (pytest-xdist), each test module in one process (its servers are per module).
test: install $(VENV_LOWEST)/.installed
	$(PY) -m pytest -n auto --dist loadfile
	$(PY_LOWEST) -m pytest -n auto --dist loadfile $(LOWEST_TESTS)
	npm test

# Linters, from the test virtualenv: ruff on everything, mypy on the package (pyproject.toml).
lint: $(VENV)/.installed-test
	$(PY) -m ruff check clientsignal tests examples bench
	$(PY) -m ruff format --check clientsignal
	$(PY) -m mypy

# The ping/pong example on http://$(HOST):$(PORT), in-process backend, no Redis, no npm.
demo: $(VENV)/.installed-demo
	$(MAKE) -C examples/simple demo PYTHON=$(abspath $(PY)) HOST=$(HOST) PORT=$(PORT)

# The documentation site, from docs/ into docs/_build/html/ (open docs/_build/html/index.html):
# built strictly (every warning an error: broken links, anchors, cross-references, docstrings),
# then every internal link of the built pages checked; external links are checked for form
# only, never fetched (scripts/build_docs.py). make test does the same in tests/docs.
docs: $(VENV)/.installed-docs
	$(PY) scripts/build_docs.py docs/_build/html

bench: install
	$(PY) -m bench

# A release: the sdist and wheel of the committed tree (git archive HEAD), built with
# pyproject.toml's build requirements and checked (twine check, the bundle in the wheel, the
# version's CHANGELOG.md entry) by scripts/release.py, into $(DIST)/. build and twine come from
# PyPI into a virtualenv of their own.
VENV_RELEASE := .venv-release
DIST ?= dist
$(VENV_RELEASE)/.installed:
	$(PYTHON) -m venv $(VENV_RELEASE)
	$(VENV_RELEASE)/bin/python -m pip install -q build twine packaging
	touch $@

release: $(VENV_RELEASE)/.installed
	DIST=$(abspath $(DIST)) $(VENV_RELEASE)/bin/python scripts/release.py

# The npm package django-clientsignal (npm/), packed into $(DIST)/: npm pack's prepack builds its
# modules and types from clientsignal.js and clientsignal.d.ts (scripts/build_npm.js). Node
# and npm only: nothing is installed.
npm:
	mkdir -p $(DIST)
	cd npm && npm pack --pack-destination $(abspath $(DIST))
