"""The two ways of serving a project whose sockets cannot work are said once, with the fix:
a wsgi.py that does not wrap Django in ClientSignalMiddleware (browsers get 404 and retry for
ever), and ``manage.py runserver`` (no websockets). Each is driven as a user hits it: the
README's command on the unwrapped module, plain gunicorn, a real runserver, and a browser page
that keeps trying."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.examples.conftest import EXAMPLES, example_env, migrate
from tests.support.servers import WORKER, GunicornServer, free_port, wait_for

from .conftest import PROJECT, ReadmeCommand, collectstatic, project_env

pytestmark = [pytest.mark.browser, pytest.mark.timeout(90)]

UNWRAPPED = "deployed.unwrapped_wsgi:application"
WARNING = "is not wrapped in ClientSignalMiddleware"
FIX = "application = ClientSignalMiddleware(get_wsgi_application())"


def status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def socket_requests(page: object, url: str, count: int) -> list[int]:
    """Open ``url`` and wait until its SignalSocket has made ``count`` requests to /simple/info
    (it retries): their statuses."""
    statuses: list[int] = []
    page.on(  # type: ignore[attr-defined]
        "response",
        lambda response: "/simple/info" in response.url and statuses.append(response.status),
    )
    page.goto(url)  # type: ignore[attr-defined]
    # Playwright delivers events while it is called: wait in the page, not in a sleep.
    wait_for(
        lambda: len(statuses) >= count or page.wait_for_timeout(50),  # type: ignore[attr-defined]
        30,
        "the page's socket retrying",
    )
    return statuses


@pytest.fixture(scope="module")
def static_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("static")
    collectstatic(root)
    return root


def env(static_root: Path) -> dict[str, str]:
    """The page's scripts served (by WhiteNoise): all that is wrong is wsgi.py."""
    return project_env(static_root, DEPLOYED_WHITENOISE="1")


def test_the_readme_command_on_an_unwrapped_wsgi_py_warns_at_start_up(page, static_root):
    with ReadmeCommand(env(static_root), app=UNWRAPPED) as server:
        log = server.log_text
        # Said as the worker starts, before any browser came.
        wait_for(lambda: WARNING in log(), 10, "the start-up warning")
        assert "%s %s" % (UNWRAPPED, WARNING) in log() and FIX in log()
        assert "serves /simple:" in log()
        # What the browser gets: Django's 404, again and again.
        assert set(socket_requests(page, server.url + "/", 2)) == {404}
        assert log().count(WARNING) == 1


def test_plain_gunicorn_on_an_unwrapped_wsgi_py_warns_at_the_first_socket_request(
    page, static_root
):
    """Without clientsignal's gunicorn settings (or under another WSGI server) nothing runs at
    start-up: the first socket request that reaches Django is the sign."""
    server = GunicornServer(UNWRAPPED, env=env(static_root), cwd=PROJECT)
    command = server.command()
    del command[command.index("-c") : command.index("-c") + 2]
    assert "-k" in command and WORKER in command
    server.command = lambda: command  # type: ignore[method-assign]
    with server:
        log = server.log_text
        assert WARNING not in log()
        socket_requests(page, server.url + "/", 2)
        wait_for(lambda: WARNING in log(), 10, "the warning")
        assert "a request for '/simple/info' reached Django: deployed.wsgi.application" in log()
        assert FIX in log()
        assert status(server.url + "/simple/info") == 404
        assert log().count(WARNING) == 1


@pytest.fixture
def runserver() -> Iterator[tuple[str, Path]]:
    """``python manage.py runserver PORT`` in the simple example, as a user types it (with its
    autoreloader): its URL and the file its output goes to."""
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, **example_env("simple", os.path.join(tmp, "db.sqlite3"))}
        migrate("simple", env)
        output = Path(tmp) / "runserver.log"
        with output.open("wb") as log:
            proc = subprocess.Popen(
                [sys.executable, "manage.py", "runserver", "127.0.0.1:%d" % port],
                cwd=EXAMPLES / "simple",
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # the autoreloader and its child: one process group
            )
        try:
            url = "http://127.0.0.1:%d" % port
            wait_for(lambda: _answers(url + "/"), 30, "runserver")
            yield url, output
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(15)


def _answers(url: str) -> bool:
    try:
        return status(url) == 200
    except OSError:
        return False


def test_runserver_warns_once_naming_runsocket(page, runserver):
    url, output = runserver
    page.goto(url + "/")
    # sockjs-client's websocket gets 400 from runserver, and it falls back to HTTP.
    page.wait_for_selector("body[data-state=open]", timeout=20000)
    assert page.evaluate("sock.transport") != "websocket"
    page.click("#ping")
    page.wait_for_selector("#pongs li", timeout=15000)
    page.reload()
    page.wait_for_selector("body[data-state=open]", timeout=20000)
    text = output.read_text()
    assert text.count("served by Django's runserver (WSGIServer/") == 1, text[-3000:]
    assert "python manage.py runsocket --django --static" in text
