"""docs/deploying.md's nginx configuration, as printed, in front of the README's production
command: real Chromium gets a pong over every SockJS transport through it (TLS, HTTP/2 for the
HTTP transports), the static files come from nginx, and the connection's request carries the
browser's address and scheme, not nginx's.

The browser reaches nginx through a TCP relay whose connections come from 127.0.0.2: a client
on another address than nginx (127.0.0.1), as a visitor from the internet is."""

from __future__ import annotations

import http.client
import ssl
from collections.abc import Iterator

import pytest

from tests.support.proxy import CuttableProxy
from tests.support.transports import BROWSER_TRANSPORTS

from .conftest import Deployment, readme_command, unit_exec_start

pytestmark = [pytest.mark.browser, pytest.mark.timeout(90)]

CLIENT = "127.0.0.2"


@pytest.fixture(scope="module")
def relay(deployment: Deployment) -> Iterator[CuttableProxy]:
    proxy = CuttableProxy(deployment.https_port, source=CLIENT)
    yield proxy
    proxy.close()


@pytest.fixture
def secure_page(browser: object) -> Iterator[object]:
    """A page of a new browser context that accepts the test's self-signed certificate."""
    context = browser.new_context(ignore_https_errors=True)  # type: ignore[attr-defined]
    yield context.new_page()
    context.close()


def get(port: int, path: str, tls: bool = False) -> http.client.HTTPResponse:
    if tls:
        context = ssl._create_unverified_context()
        connection: http.client.HTTPConnection = http.client.HTTPSConnection(
            "127.0.0.1", port, timeout=10, context=context
        )
    else:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", path)
    response = connection.getresponse()
    response.read()
    return response


@pytest.mark.parametrize("transport", BROWSER_TRANSPORTS)
def test_pong_through_nginx(secure_page, deployment, relay, transport):
    page = secure_page
    page.goto("https://127.0.0.1:%d/?transport=%s" % (relay.port, transport))
    page.wait_for_selector("body[data-state=open]", timeout=15000)
    assert page.evaluate("sock.transport") == transport
    page.click("#ping")
    page.wait_for_selector("#pong:has-text('Pong')", timeout=15000)
    assert page.inner_text("#pong") == "Pong Ponged"
    # The connection's request is the browser's: its address from nginx's X-Forwarded-For,
    # HTTPS from its X-Forwarded-Proto (gunicorn itself saw 127.0.0.1 and plain HTTP).
    assert page.evaluate("sock.call('whoami', {})") == {"address": CLIENT, "secure": True}
    if transport != "websocket":  # the session-binding cookie of the HTTP transports
        cookies = {c["name"]: c for c in page.context.cookies()}
        assert cookies["sockjs_key"]["secure"] is True


def test_static_files_come_from_nginx(deployment):
    collected = (deployment.static_root / "clientsignal" / "clientsignal.js").read_bytes()
    for name in ("clientsignal/clientsignal.js", "clientsignal/sockjs.min.js"):
        through_nginx = get(deployment.https_port, "/static/" + name, tls=True)
        assert through_nginx.status == 200, name
        assert "javascript" in through_nginx.headers["Content-Type"]
        # Why the guide needs them: gunicorn alone (DEBUG off) answers 404.
        assert get(deployment.gunicorn.port, "/static/" + name).status == 404, name
    connection = http.client.HTTPSConnection(
        "127.0.0.1", deployment.https_port, timeout=10, context=ssl._create_unverified_context()
    )
    connection.request("GET", "/static/clientsignal/clientsignal.js")
    assert connection.getresponse().read() == collected


def test_plain_http_is_redirected_to_https(deployment):
    response = get(deployment.http_port, "/?transport=websocket")
    assert response.status == 301
    assert response.headers["Location"] == "https://127.0.0.1/?transport=websocket"


def test_the_systemd_unit_runs_the_readme_command():
    """The guide's unit starts what the README prints, bound to 127.0.0.1 for nginx: only the
    virtualenv's path, the number of workers and the address differ."""

    def shape(args: list[str]) -> list[str]:
        args = [args[0].rsplit("/", 1)[-1], *args[1:]]
        for flag in ("-w", "-b"):
            args[args.index(flag) + 1] = "*"
        return args

    unit = unit_exec_start()
    assert shape(unit) == shape(readme_command())
    assert unit[unit.index("-b") + 1] == "127.0.0.1:8000"  # the guide's upstream
