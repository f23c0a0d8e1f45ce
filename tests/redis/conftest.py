"""The Redis test project under gunicorn, against a private redis-server."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.servers import REPO, GunicornServer
from tests.support.sockjs import SignalClient

PROJECT = Path(__file__).parent / "project"


def project_env(redis_url: str) -> dict[str, str]:
    return {
        "CLIENTSIGNAL_TEST_REDIS": redis_url,
        "DJANGO_SETTINGS_MODULE": "redisproject.settings",
        "PYTHONPATH": os.pathsep.join([str(PROJECT), str(REPO)]),
    }


def send_ticks(redis_url: str, *args: object) -> subprocess.CompletedProcess:
    """Send from a separate plain Python process (see send_ticks.py for the arguments)."""
    return subprocess.run(
        [sys.executable, str(PROJECT / "send_ticks.py"), *map(str, args)],
        env={**os.environ, **project_env(redis_url)},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def socket_server(redis_server):
    with GunicornServer(
        "redisproject.wsgi:application", workers=2, env=project_env(redis_server.url), cwd=PROJECT
    ) as server:
        yield server


def open_clients(server, count, timeout=15, query="", path="/signals", background=True):
    """At least ``count`` clients, on at least two workers (the worker's pid comes in the
    hello event), each reading in a thread of its own (see SignalClient). A worker still
    loading the app takes no connections, so keep opening clients until both have some."""
    clients, pids = [], set()
    deadline = time.monotonic() + timeout
    while len(clients) < count or len(pids) < 2:
        assert time.monotonic() < deadline, "the clients all landed on one worker"
        client = SignalClient(server.url + path, query=query, background=background)
        pids.add(client.next_event()["data"]["pid"])
        clients.append(client)
    return clients, pids
