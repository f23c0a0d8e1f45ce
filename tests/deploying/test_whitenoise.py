"""docs/deploying.md's other way to serve static files, without a proxy: WhiteNoise's middleware
in MIDDLEWARE, wsgi.py as the README has it, the README's production command. The scripts are
served by the worker, and the page gets its pong."""

from __future__ import annotations

import http.client
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.servers import GunicornServer

from .conftest import ReadmeCommand, collectstatic, project_env

pytestmark = [pytest.mark.browser, pytest.mark.timeout(90)]


@pytest.fixture(scope="module")
def static_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("static")
    collectstatic(root)
    return root


@pytest.fixture(scope="module")
def server(static_root: Path) -> Iterator[GunicornServer]:
    with ReadmeCommand(project_env(static_root, DEPLOYED_WHITENOISE="1")) as server:
        yield server


def test_whitenoise_serves_the_scripts(server, static_root):
    for name in ("clientsignal/clientsignal.js", "clientsignal/sockjs.min.js"):
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        connection.request("GET", "/static/" + name)
        response = connection.getresponse()
        assert response.status == 200, name
        assert response.read() == (static_root / name).read_bytes()


@pytest.mark.parametrize("transport", ["websocket", "xhr-streaming"])
def test_pong(page, server, transport):
    page.goto(server.url + "/?transport=" + transport)
    page.wait_for_selector("body[data-state=open]", timeout=15000)
    page.click("#ping")
    page.wait_for_selector("#pong:has-text('Pong')", timeout=15000)
    assert page.inner_text("#pong") == "Pong Ponged"
    assert page.evaluate("sock.transport") == transport
