"""The Redis test project under gunicorn: against a private redis-server, and, for the tests of
delivery, also on the in-process backend (one worker) so that both backends take each path."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.redis_cluster import RedisClusterServers
from tests.support.servers import REPO, GunicornServer, RedisServer
from tests.support.sockjs import SignalClient

PROJECT = Path(__file__).parent / "project"


def project_env(redis_url: str | None) -> dict[str, str]:
    return {
        "CLIENTSIGNAL_TEST_REDIS": redis_url or "",
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
    """A private server (for the tests that stop Redis under it)."""
    with GunicornServer(
        "redisproject.wsgi:application", workers=2, env=project_env(redis_server.url), cwd=PROJECT
    ) as server:
        yield server


def open_clients(
    server, count, timeout=15, query="", path="/signals", background=True, per_worker=1
):
    """At least ``count`` clients, and at least ``per_worker`` on every worker of ``server``
    (the worker's pid comes in the hello event, kept as ``client.hello``), each reading in a
    thread of its own (see SignalClient). A worker still loading the app takes no
    connections, so keep opening clients until all have some."""
    clients: list[SignalClient] = []
    per_pid: dict[int, int] = {}
    workers = server.workers or 1
    deadline = time.monotonic() + timeout
    while len(clients) < count or len(per_pid) < workers or min(per_pid.values()) < per_worker:
        assert time.monotonic() < deadline, "the clients landed on workers %s" % per_pid
        client = SignalClient(server.url + path, query=query, background=background)
        client.hello = client.next_event()["data"]
        per_pid[client.hello["pid"]] = per_pid.get(client.hello["pid"], 0) + 1
        clients.append(client)
    return clients, set(per_pid)


def by_worker(clients):
    """The clients split in two halves, each with clients of every worker the list has
    (for clients opened with ``per_worker=2``)."""
    first, second, seen = [], [], {}
    for client in clients:
        pid = client.hello["pid"]
        (first if seen.get(pid, 0) % 2 == 0 else second).append(client)
        seen[pid] = seen.get(pid, 0) + 1
    return first, second


# -- one project server per backend, shared by the delivery tests ------------------------------


class Project:
    """The test project under gunicorn on one backend: ``memory`` (one worker: every message
    stays in the process), ``redis`` (two workers: every message crosses Redis, and the
    clients of a test are spread over both) or ``cluster`` (the same on a three-master Redis
    Cluster: ``redis`` is then the cluster, whose ``url`` is ``redis+cluster://...``)."""

    def __init__(
        self,
        backend: str,
        server: GunicornServer,
        redis: RedisServer | RedisClusterServers | None,
    ) -> None:
        self.backend = backend
        self.server = server
        self.redis = redis
        self._control: SignalClient | None = None
        self.opened: list[SignalClient] = []

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def workers(self) -> int:
        return self.server.workers or 1

    def open_clients(self, count: int, **kwargs) -> tuple[list[SignalClient], set[int]]:
        clients, pids = open_clients(self.server, count, **kwargs)
        self.opened.extend(clients)
        return clients, pids

    def client(self, path: str = "/signals", query: str = "") -> SignalClient:
        client = SignalClient(self.url + path, query=query, background=True)
        client.hello = client.next_event()["data"]
        self.opened.append(client)
        return client

    def do(self, action: str, **args) -> None:
        """Have a worker send (``act`` in the project), and wait until it has."""
        if self._control is None:
            self._control = SignalClient(self.url + "/control", background=True)
        self._control.send("do", {"action": action, "args": args})
        assert self._control.next_event() == {"event": "done", "data": {"action": action}}

    def end_marker(self) -> str:
        """A broadcast after the messages under test, to be every client's next event: so
        nothing came twice, and nothing came to a client it was not for."""
        origin = unique("end")
        self.do("tick", origin=origin)
        return origin

    def close_opened(self) -> None:
        for client in self.opened:
            try:
                client.close()
            except Exception:
                pass
        self.opened = []


def _start_project(backend: str) -> Iterator[Project]:
    if backend == "memory":
        with GunicornServer(
            "redisproject.wsgi:application", workers=1, env=project_env(None), cwd=PROJECT
        ) as server:
            yield Project(backend, server, None)
        return
    with (
        RedisClusterServers() if backend == "cluster" else RedisServer() as redis,
        GunicornServer(
            "redisproject.wsgi:application", workers=2, env=project_env(redis.url), cwd=PROJECT
        ) as server,
    ):
        yield Project(backend, server, redis)


@pytest.fixture(scope="session")
def memory_project() -> Iterator[Project]:
    yield from _start_project("memory")


@pytest.fixture(scope="session")
def redis_project() -> Iterator[Project]:
    yield from _start_project("redis")


@pytest.fixture(scope="session")
def cluster_project() -> Iterator[Project]:
    yield from _start_project("cluster")


@pytest.fixture(params=["memory", "redis", "cluster"])
def project(request) -> Iterator[Project]:
    """The project on each backend in turn; the clients a test opens are closed after it."""
    shared = request.getfixturevalue("%s_project" % request.param)
    yield shared
    shared.close_opened()


@pytest.fixture(params=["redis", "cluster"])
def redis_only(request) -> Iterator[Project]:
    """The project on Redis only, one server and a cluster (a separate process sends, a
    request is forwarded)."""
    shared = request.getfixturevalue("%s_project" % request.param)
    yield shared
    shared.close_opened()


def unique(name: str) -> str:
    """A name no other test on the shared servers uses."""
    return "%s-%s" % (name, uuid.uuid4().hex[:8])
