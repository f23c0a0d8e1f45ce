"""Django for the testing helpers' own tests (the API tests' settings), and their fixtures
(``signal_namespace``, autouse: each test's backends are new, in a namespace of their own)."""

from __future__ import annotations

import os

import django
import pytest

# A project of its own, run in subprocesses by test_redis_isolation.py.
collect_ignore = ["presence_project"]

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.api.settings")
# Playwright's sync API (the browser tests, same process) keeps an asyncio loop running in
# the main thread; these tests are synchronous all the same.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
django.setup()

from django.core.management import call_command  # noqa: E402

from clientsignal.testing.plugin import (  # noqa: E402, F401
    signal_communicator,
    signal_live_server,
    signal_namespace,
)


@pytest.fixture(scope="session", autouse=True)
def database():
    call_command("migrate", run_syncdb=True, verbosity=0)
