"""The examples' own test modules (written with clientsignal.testing, as an app developer
would) pass under `manage.py test` and under pytest with pytest-django, each in a fresh
process from the example's folder, as their users run them."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from .conftest import EXAMPLES, example_env

# Example folder -> its app, and tests that must have run (not skipped), by both runners.
APPS = {
    "chat": ("chat", ("test_what_is_said_reaches_that_room_only", "test_a_user_in_the_browser")),
    "simple": ("myapp", ("test_a_ping_pongs_every_open_page",)),
}
# pytest-style tests with clientsignal's fixtures (pytest-django's database, a live server).
PYTEST_ONLY = {
    "chat": (),
    "simple": ("test_a_logged_in_user_is_the_connections", "test_the_live_server_serves"),
}


def run(example: str, *command: str, tmp_path) -> str:
    env = {**os.environ, **example_env(example, str(tmp_path / "db.sqlite3"))}
    # The example's Chromium test must say for itself what Playwright's sync API needs.
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    env.pop("PYTEST_ADDOPTS", None)
    done = subprocess.run(
        [sys.executable, *command],
        cwd=EXAMPLES / example,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout[-5000:]
    return done.stdout


@pytest.mark.timeout(150)
@pytest.mark.parametrize("example", sorted(APPS))
def test_manage_py_test(example, tmp_path):
    app, required = APPS[example]
    output = run(example, "manage.py", "test", app, "-v", "2", tmp_path=tmp_path)
    assert "skipped" not in output
    for name in required:
        assert any(line.startswith(name) and line.endswith("ok") for line in output.splitlines())


@pytest.mark.timeout(150)
@pytest.mark.parametrize("example", sorted(APPS))
def test_pytest_with_pytest_django(example, tmp_path):
    _app, required = APPS[example]
    output = run(example, "-m", "pytest", "-v", "-p", "no:cacheprovider", tmp_path=tmp_path)
    assert "skipped" not in output.lower()
    assert "pytest-django" in output or "django:" in output
    for name in (*required, *PYTEST_ONLY[example]):
        assert any(name in line and "PASSED" in line for line in output.splitlines()), name
