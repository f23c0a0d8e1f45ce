"""The servers the benchmark compares, each started on 127.0.0.1 on a free port.

A contender is a context manager: entering it starts its server (and the redis-server it
needs), and it then tells the load generator where to connect (``ws_url``), how to speak
(``mode``: raw, sockjs or socketio) and which processes' memory to count (``pids()``).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from pathlib import Path

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


def _bench_project(workers: int) -> Callable[[str | None], _Process]:
    def make(redis_url: str | None) -> _Process:
        env = {"PYTHONPATH": os.pathsep.join([str(PROJECT), str(ROOT)])}
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


def _channels(redis_url: str | None) -> _Process:
    bin_dir = venvs.ensure("channels")
    return Command(
        "daphne",
        [str(bin_dir / "daphne"), "-v", "0", "-b", "127.0.0.1", "-p", "{port}",
         "channels_peer.asgi:application"],
        env={"PYTHONPATH": str(PEERS), "BENCH_REDIS_URL": redis_url or ""},
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
        Contender("Channels 4 + daphne + channels_redis", "raw", "", _channels, redis=True),
    ]
    if names is None:
        return every
    return [c for c in every if any(name in c.name for name in names)]
