"""The servers the benchmark compares, each started on 127.0.0.1 on a free port.

A contender is a context manager: entering it starts its server (and the redis-server it
needs), and it then tells the load generator where to connect (``ws_url``), how to speak
(``mode``: raw, sockjs or socketio) and which processes' memory to count (``pids()``).
"""

from __future__ import annotations

import functools
import os
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.memory import worker_pids
from bench.peers import venvs
from tests.support.servers import WORKER, GunicornServer, RedisServer, _no_control_socket, _Process

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
PEERS = BENCH / "peers"
PROJECT = BENCH / "project"
# gunicorn's gevent workers accept 1000 connections at once by default.
CONNECTIONS = ("--worker-connections", "30000")


def _answers_http(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
            sock.sendall(b"GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
            return sock.recv(12).startswith(b"HTTP/")
    except OSError:
        return False


class Command(_Process):
    """Any server command line taking its port from ``{port}``."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> None:
        self.name = name
        super().__init__()
        self.argv = [arg.replace("{port}", str(self.port)) for arg in argv]
        self.env = env or {}

    @property
    def url(self) -> str:
        return "http://127.0.0.1:%d" % self.port

    def command(self) -> list[str]:
        return self.argv

    def environment(self) -> dict[str, str]:
        return {**os.environ, **self.env}

    def ready(self) -> bool:
        return _answers_http(self.port)


class Contender:
    """One server under test: ``with contender: ...`` runs it."""

    def __init__(
        self,
        name: str,
        mode: str,
        path: str,
        server: Callable[[str | None], _Process],
        *,
        redis: bool = False,
        workers: int = 1,
        scenarios: frozenset[str] | None = None,
    ) -> None:
        self.name, self.mode, self.path, self.workers = name, mode, path, workers
        self.scenarios = scenarios  # the scenarios it runs in (None: every one)
        self._make = server
        self._needs_redis = redis
        self.redis: RedisServer | None = None
        self.server: _Process | None = None

    def runs(self, scenario: str) -> bool:
        return self.scenarios is None or scenario in self.scenarios

    @property
    def http_url(self) -> str:
        assert self.server is not None
        return "http://127.0.0.1:%d%s" % (self.server.port, self.path)

    @property
    def ws_url(self) -> str:
        return self.http_url.replace("http://", "ws://", 1)

    @property
    def redis_url(self) -> str | None:
        return self.redis.url if self.redis is not None else None

    def pids(self) -> list[int]:
        """The processes serving connections: a master's workers (gunicorn), else the server."""
        assert self.server is not None and self.server.proc is not None
        return worker_pids(self.server.proc.pid) or [self.server.proc.pid]

    def __enter__(self) -> Contender:
        if self._needs_redis:
            self.redis = RedisServer().start()
        try:
            self.server = self._make(self.redis_url).start()
        except BaseException:
            if self.redis is not None:
                self.redis.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        if self.server is not None:
            self.server.stop()
        if self.redis is not None:
            self.redis.stop()


def _bench_project(
    workers: int, extra_env: dict[str, str] | None = None
) -> Callable[[str | None], _Process]:
    def make(redis_url: str | None) -> _Process:
        env = {"PYTHONPATH": os.pathsep.join([str(PROJECT), str(ROOT)]), **(extra_env or {})}
        if redis_url:
            env["CLIENTSIGNAL_BACKEND"] = redis_url
        return GunicornServer(
            "benchproject.wsgi:application",
            workers=workers,
            env=env,
            cwd=PROJECT,
            extra_args=CONNECTIONS,
        )

    return make


def _floor(redis_url: str | None) -> _Process:
    return GunicornServer("bench.floor:application", extra_args=CONNECTIONS)


def _sockjs_node(redis_url: str | None) -> _Process:
    return Command("sockjs-node", ["node", str(PEERS / "sockjs_node.js"), "{port}"])


def _channels(redis_url: str | None, extra_env: dict[str, str] | None = None) -> _Process:
    bin_dir = venvs.ensure("channels")
    return Command(
        "daphne",
        [str(bin_dir / "daphne"), "-v", "0", "-b", "127.0.0.1", "-p", "{port}",
         "channels_peer.asgi:application"],
        env={"PYTHONPATH": str(PEERS), "BENCH_REDIS_URL": redis_url or "", **(extra_env or {})},
    )  # fmt: skip


def _socketio(redis_url: str | None) -> _Process:
    bin_dir = venvs.ensure("socketio")
    return Command(
        "python-socketio",
        [str(bin_dir / "gunicorn"), "-k", WORKER, "-w", "1", "-b", "127.0.0.1:{port}",
         *CONNECTIONS, *_no_control_socket(), "socketio_peer:app"],
        env={"PYTHONPATH": str(PEERS)},
    )  # fmt: skip


FLOOR = "gevent-websocket floor"
CHANNELS = "Channels 4 + daphne + channels_redis"
ONE_WORKER = "clientsignal, 1 worker"
TWO_WORKERS = "clientsignal, 2 workers + Redis"
ONE_WORKER_HISTORY = "clientsignal, 1 worker, history"
TWO_WORKERS_HISTORY = "clientsignal, 2 workers + Redis, history"
HISTORY_PAIRS = ((ONE_WORKER, ONE_WORKER_HISTORY), (TWO_WORKERS, TWO_WORKERS_HISTORY))
"""Each contender without history and its twin with it (the bench project's
``HistoryBenchConnection``, ``history = {"size": 100, "ttl": 300}``): fan-out only."""


def contenders(names: set[str] | None = None) -> list[Contender]:
    """Every contender, the floor first (ratios are against it), or those whose name contains
    one of ``names``."""
    every = [
        Contender(FLOOR, "raw", "", _floor),
        Contender(ONE_WORKER, "sockjs", "/bench", _bench_project(1)),
        Contender(TWO_WORKERS, "sockjs", "/bench", _bench_project(2), redis=True, workers=2),
        Contender(
            ONE_WORKER_HISTORY, "sockjs", "/bench-history", _bench_project(1),
            scenarios=frozenset({"fanout", "history"}),
        ),
        Contender(
            TWO_WORKERS_HISTORY, "sockjs", "/bench-history", _bench_project(2), redis=True,
            workers=2, scenarios=frozenset({"fanout", "history"}),
        ),
        Contender("sockjs-node 0.3.24", "sockjs", "/bench", _sockjs_node),
        Contender("python-socketio 5 (gevent)", "socketio", "", _socketio),
        Contender(CHANNELS, "raw", "", _channels, redis=True),
    ]
    if names is None:
        return every
    return [c for c in every if any(name in c.name for name in names)]


class DjangoContender(Contender):
    """A contender that is a Django project of its own, whose ``migrate`` makes its tables in
    the database that ``env`` names (the dbchat scenario)."""

    def __init__(
        self,
        name: str,
        mode: str,
        path: str,
        server: Callable[[str | None], _Process],
        *,
        python: Callable[[], str],
        pythonpath: str,
        settings: str,
        env: dict[str, str],
        **kwargs: Any,
    ) -> None:
        super().__init__(name, mode, path, server, **kwargs)
        self._python, self.pythonpath, self.settings, self.env = python, pythonpath, settings, env

    def migrate(self) -> None:
        """``python -m django migrate`` in the contender's own environment and project."""
        env = {**os.environ, **self.env, "PYTHONPATH": self.pythonpath}
        env["DJANGO_SETTINGS_MODULE"] = self.settings
        done = subprocess.run(
            [self._python(), "-m", "django", "migrate", "--noinput", "-v", "0"],
            env=env, cwd=ROOT, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        if done.returncode:
            raise RuntimeError("%s: migrate failed:\n%s" % (self.name, done.stderr[-2000:]))


def chat_contenders(env: dict[str, str], names: set[str] | None = None) -> list[DjangoContender]:
    """The dbchat scenario's contenders, each a Django project on the database ``env`` names
    (BENCH_DATABASE_PORT, BENCH_DATABASE_NAME, BENCH_CONN_MAX_AGE), chat rooms on
    ``/chat/<room>``: the bench project's ``chat`` app on one worker, on two with Redis, and
    the Channels peer's ``ChatConsumer``. The Channels peer last: ratios are against it."""
    project = {
        "python": lambda: sys.executable,
        "pythonpath": os.pathsep.join([str(PROJECT), str(ROOT)]),
        "settings": "benchproject.settings",
        "env": env,
    }
    every = [
        DjangoContender(ONE_WORKER, "sockjs", "/chat", _bench_project(1, env), **project),
        DjangoContender(
            TWO_WORKERS, "sockjs", "/chat", _bench_project(2, env), redis=True, workers=2,
            **project,
        ),
        DjangoContender(
            CHANNELS, "raw", "/chat", functools.partial(_channels, extra_env=env), redis=True,
            python=lambda: str(venvs.ensure("channels") / "python"), pythonpath=str(PEERS),
            settings="channels_peer.settings", env=env,
        ),
    ]  # fmt: skip
    if names is None:
        return every
    return [c for c in every if any(name in c.name for name in names)]
