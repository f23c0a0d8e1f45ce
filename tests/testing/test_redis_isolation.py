"""docs/testing.md's Redis pattern as printed (``@override_settings(CLIENTSIGNAL_BACKEND=...)
class OnRedis(Tests): pass``) with a ``presence_events`` class (tests/testing/presence_project),
run as its users run it: ``manage.py test --parallel`` and pytest with pytest-django, each in a
fresh process, several runs in a row on one redis-server. Before test namespaces, 5 or 6 of its
10 tests failed every run (a ``join`` of the previous test arriving late, presence left behind,
the parallel workers meeting in Redis) and keys stayed in Redis after it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.support.servers import REPO, RedisServer

PROJECT = Path(__file__).resolve().parent / "presence_project"
RUNS = int(os.environ.get("CLIENTSIGNAL_ISOLATION_RUNS", "2"))
"""Runs in a row of each runner (20 to measure: CLIENTSIGNAL_ISOLATION_RUNS=20)."""

pytestmark = [pytest.mark.redis, pytest.mark.timeout(60 + 60 * RUNS)]


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    with RedisServer() as server:
        yield "redis://127.0.0.1:%d/15" % server.port  # db 15, as docs/testing.md has it


def run(redis_url: str, *command: str) -> str:
    env = {**os.environ, "LOBBY_REDIS_URL": redis_url}
    env["PYTHONPATH"] = os.pathsep.join([str(PROJECT), str(REPO)])
    for name in ("DJANGO_SETTINGS_MODULE", "PYTEST_ADDOPTS", "DJANGO_ALLOW_ASYNC_UNSAFE"):
        env.pop(name, None)
    done = subprocess.run(
        [sys.executable, *command],
        cwd=PROJECT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout[-5000:]
    return done.stdout


def keys_left(redis_url: str) -> list[bytes]:
    client = redis.Redis.from_url(redis_url)
    try:
        return client.keys("*")
    finally:
        client.close()


def test_manage_py_test_parallel_runs_in_a_row(redis_url: str) -> None:
    for _ in range(RUNS):
        output = run(redis_url, "manage.py", "test", "--parallel", "2", "-v", "2")
        assert "Ran 10 tests" in output and "\nOK" in output, output[-3000:]
        assert keys_left(redis_url) == []


def test_pytest_runs_in_a_row(redis_url: str) -> None:
    for _ in range(RUNS):
        output = run(redis_url, "-m", "pytest", "-v", "-p", "no:cacheprovider")
        assert "12 passed" in output, output[-3000:]
        assert keys_left(redis_url) == []
