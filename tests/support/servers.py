"""Real servers for tests: gunicorn with the gevent-websocket worker, and redis-server.

Every server binds 127.0.0.1 on a free port and is waited for by polling, never by sleeping a
fixed time.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
WORKER = "geventwebsocket.gunicorn.workers.GeventWebSocketWorker"


def _no_control_socket() -> tuple[str, ...]:
    # gunicorn 27 opens a control socket at a fixed path; parallel test servers would share it.
    import gunicorn

    return ("--no-control-socket",) if gunicorn.version_info >= (27,) else ()


_NO_CONTROL_SOCKET = _no_control_socket()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(condition: Callable[[], object], timeout: float, what: str) -> object:
    """Poll ``condition`` every 20 ms until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError("timed out waiting for %s" % what)
        time.sleep(0.02)


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


class _Process:
    """A subprocess with its output in a temporary log file."""

    name = "process"

    def __init__(self) -> None:
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self._log = tempfile.NamedTemporaryFile(
            prefix="clientsignal-%s-" % self.name, suffix=".log"
        )

    def command(self) -> list[str]:
        raise NotImplementedError

    def environment(self) -> dict[str, str]:
        return dict(os.environ)

    def cwd(self) -> Path:
        return REPO

    def ready(self) -> bool:
        return _accepts(self.port)

    def start(self) -> _Process:
        self.proc = subprocess.Popen(
            self.command(),
            cwd=self.cwd(),
            env=self.environment(),
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_for(lambda: self.proc.poll() is not None or self.ready(), 30, self.name)
        except TimeoutError:
            self.stop()
            raise RuntimeError(
                "%s did not start:\n%s" % (self.name, self.log_text()[-3000:])
            ) from None
        if self.proc.poll() is not None:
            raise RuntimeError("%s exited at start:\n%s" % (self.name, self.log_text()[-3000:]))
        return self

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)

    def kill(self) -> None:
        self.stop(signal.SIGKILL)

    def restart(self) -> _Process:
        self.stop()
        wait_for(lambda: not _accepts(self.port), 10, "%s port to free" % self.name)
        return self.start()

    def log_text(self) -> str:
        self._log.flush()
        return Path(self._log.name).read_text(errors="replace")

    def __enter__(self) -> _Process:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class GunicornServer(_Process):
    """``gunicorn -c python:clientsignal.gunicorn_conf -k GeventWebSocketWorker -w N APP`` on a
    free port: the README's production command."""

    name = "gunicorn"

    def __init__(
        self,
        app: str,
        *,
        workers: int | None = 1,
        env: dict[str, str] | None = None,
        extra_args: tuple[str, ...] = (),
        cwd: Path | str | None = None,
    ) -> None:
        super().__init__()
        self.app = app
        self.workers = workers
        self.env = env or {}
        self.extra_args = extra_args
        self._cwd = Path(cwd) if cwd else REPO

    @property
    def url(self) -> str:
        return "http://127.0.0.1:%d" % self.port

    def command(self) -> list[str]:
        return [
            sys.executable, "-m", "gunicorn",
            "-c", "python:clientsignal.gunicorn_conf",
            "-k", WORKER,
            *(("-w", str(self.workers)) if self.workers is not None else ()),
            "-b", "127.0.0.1:%d" % self.port,
            "--graceful-timeout", "3",
            "--timeout", "30",
            *_NO_CONTROL_SOCKET,
            *self.extra_args,
            self.app,
        ]  # fmt: skip

    def environment(self) -> dict[str, str]:
        env = dict(os.environ)
        # The Django settings of the test process (tests/api's, set by its conftest in the same
        # xdist worker) are never the served project's: its wsgi.py or the test names them.
        env.pop("DJANGO_SETTINGS_MODULE", None)
        env["PYTHONPATH"] = os.pathsep.join(
            filter(None, [str(self._cwd), str(REPO), env.get("PYTHONPATH", "")])
        )
        env.update(self.env)
        return env

    def cwd(self) -> Path:
        return self._cwd

    def ready(self) -> bool:
        # Ready when a worker answers, not just when the master listens.
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                sock.sendall(b"GET /__ready__ HTTP/1.0\r\n\r\n")
                return sock.recv(12).startswith(b"HTTP/")
        except OSError:
            return False


class RedisServer(_Process):
    """A private ``redis-server`` on a free port: stop, kill and restart it at will."""

    name = "redis"

    def __init__(self) -> None:
        super().__init__()
        self._dir = tempfile.mkdtemp(prefix="clientsignal-redis-")

    @property
    def url(self) -> str:
        return "redis://127.0.0.1:%d/0" % self.port

    @property
    def unix_url(self) -> str:
        """The same server through its unix socket (it listens on both)."""
        return "unix://%s/redis.sock?db=0" % self._dir

    def command(self) -> list[str]:
        return [
            shutil.which("redis-server") or "redis-server",
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--save", "",
            "--appendonly", "no",
            "--dir", self._dir,
            "--unixsocket", os.path.join(self._dir, "redis.sock"),
            "--unixsocketperm", "700",
        ]  # fmt: skip

    def ready(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(7) == b"+PONG\r\n"
        except OSError:
            return False
