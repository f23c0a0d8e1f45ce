"""The README's production command, copied as printed, holds production load: more than 1,000
concurrent websockets on one worker (gunicorn's own default stops accepting at 1,000, silently),
and says so, and a full pool is never silent."""

from __future__ import annotations

import base64
import os
import resource
import shlex
import socket
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.examples.conftest import EXAMPLES, example_env, migrate
from tests.support.servers import _NO_CONTROL_SOCKET, REPO, GunicornServer, wait_for

README = REPO / "README.md"
PRINTED = "gunicorn -c python:clientsignal.gunicorn_conf -w 1 "


def readme_command() -> list[str]:
    """The README's single-worker production command, as printed."""
    for line in README.read_text().splitlines():
        if line.startswith(PRINTED):
            return shlex.split(line)
    raise AssertionError("the README prints no %r command" % PRINTED)


class ReadmeServer(GunicornServer):
    """The simple example under the README's command, with only the names a user changes
    changed: their project's module, and the address (a free port on 127.0.0.1)."""

    def __init__(self, env: dict[str, str], extra_args: tuple[str, ...] = ()) -> None:
        super().__init__("simple.wsgi:application", env=env, cwd=EXAMPLES / "simple")
        self.extra = extra_args

    def command(self) -> list[str]:
        printed = readme_command()
        assert printed[0] == "gunicorn"
        args = [sys.executable, "-m", "gunicorn", *printed[1:]]
        args[args.index("-b") + 1] = "127.0.0.1:%d" % self.port
        args[args.index("myproject.wsgi:application")] = self.app
        return [*args[:-1], *_NO_CONTROL_SOCKET, *self.extra, args[-1]]


@contextmanager
def simple_example(extra_args: tuple[str, ...] = ()) -> Iterator[ReadmeServer]:
    with tempfile.TemporaryDirectory() as tmp:
        env = example_env("simple", os.path.join(tmp, "db.sqlite3"))
        migrate("simple", env)
        with ReadmeServer(env, extra_args) as server:
            yield server


def handshake(port: int, source: str) -> socket.socket:
    """A websocket handshake to a new SockJS session, sent without waiting for the answer."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=30, source_address=(source, 0))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            "GET /simple/000/%s/websocket HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
            "Origin: http://127.0.0.1:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n"
            % (uuid.uuid4().hex, port, port, key)
        ).encode()
    )
    return sock


def open_frame(sock: socket.socket) -> bytes:
    """The first websocket frame after the 101 head: b"o" for an open SockJS session."""
    data = b""
    while b"\r\n\r\n" not in data or len(data) < data.index(b"\r\n\r\n") + 6:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    head, _, frames = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101"), head[:80]
    return frames[2 : 2 + frames[1]]


@pytest.mark.timeout(180)
def test_the_readme_command_holds_more_than_1000_websockets_on_one_worker():
    clients = 1_200  # from 8 addresses: 150 each, within max_sessions_per_address
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < clients + 200:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, clients + 500), hard))
    with simple_example() as server:
        started = server.log_text()
        assert "holds up to 11000 connections at once" in started
        assert "1100 from one address (CLIENTSIGNAL_MAX_CONNECTIONS_PER_ADDRESS)" in started
        socks = [handshake(server.port, "127.0.0.%d" % (2 + n % 8)) for n in range(clients)]
        try:
            assert [open_frame(sock) for sock in socks] == [b"o"] * clients
        finally:
            for sock in socks:
                sock.close()


@pytest.mark.timeout(60)
def test_a_full_pool_is_logged_once_per_episode():
    with simple_example(("--worker-connections", "20")) as server:
        held = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(30)]
        log = server.log_text
        wait_for(lambda: "all 20 connections of this worker are in use" in log(), 10, "full")
        # Freed and filled again, many times: still one episode.
        for _ in range(5):
            held.pop().close()
            held.append(socket.create_connection(("127.0.0.1", server.port)))
        with socket.create_connection(("127.0.0.1", server.port)) as late:
            for sock in held:
                sock.close()
            late.sendall(b"GET /simple/info HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
            assert late.recv(12).startswith(b"HTTP/1.1 200")  # served once one closed
        assert log().count("are in use") == 1
        assert "raise --worker-connections" in log()


@pytest.mark.timeout(60)
def test_gunicorn_without_clientsignals_settings_is_warned_about(tmp_path: Path):
    with tempfile.TemporaryDirectory() as tmp:
        env = example_env("simple", os.path.join(tmp, "db.sqlite3"))
        migrate("simple", env)
        server = GunicornServer("simple.wsgi:application", env=env, cwd=EXAMPLES / "simple")
        plain = [arg for arg in server.command() if arg != "python:clientsignal.gunicorn_conf"]
        plain.remove("-c")
        server.command = lambda: plain  # type: ignore[method-assign]
        with server:
            with socket.create_connection(("127.0.0.1", server.port)) as sock:
                sock.sendall(b"GET /simple/info HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
                assert sock.recv(12).startswith(b"HTTP/1.1 200")
            log = server.log_text
            wait_for(lambda: "runs without clientsignal's settings" in log(), 10, "warning")
