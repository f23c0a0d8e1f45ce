"""DNS rebinding: a page at ``evil.example``, a name its owner points at the server's address
(an intranet one, say), makes requests that are same-origin for the browser: ``Host`` and
``Origin`` both ``evil.example``. The server answers only to ``ALLOWED_HOSTS``, as Django
does: every transport, the websocket and the multiplexed service refuse another host (400,
or 4400 before the session opens), counted and logged once per episode; the site's own names
are served. The figures are printed (``pytest -s``)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest

from tests.support.servers import GunicornServer

from .wire import RawWebSocket, http_request, session_path


@pytest.fixture(scope="module")
def server(start) -> Iterator[GunicornServer]:
    with start(workers=1, allowed_hosts=["127.0.0.1", "localhost"]) as server:
        yield server


def evil(port: int) -> dict[str, str]:
    return {"Host": "evil.example:%d" % port, "Origin": "http://evil.example:%d" % port}


HTTP_REQUESTS = [
    ("POST", "{prefix}/000/{id}/xhr"),
    ("POST", "{prefix}/000/{id}/xhr_streaming"),
    ("GET", "{prefix}/000/{id}/eventsource"),
    ("GET", "{prefix}/000/{id}/htmlfile?c=cb"),
    ("GET", "{prefix}/000/{id}/jsonp?c=cb"),
    ("POST", "{prefix}/000/{id}/xhr_send"),
    ("GET", "{prefix}/info"),
    ("GET", "{prefix}/iframe.html"),
]


@pytest.mark.timeout(30)
@pytest.mark.parametrize("prefix", ["/open", "/chat/7", "/mux"])
@pytest.mark.parametrize("method,path", HTTP_REQUESTS)
def test_a_foreign_host_gets_400_on_every_http_transport(server, prefix, method, path) -> None:
    url = path.format(prefix=prefix, id=uuid.uuid4().hex)
    reply = http_request(server.port, method, url, body="", headers=evil(server.port))
    assert (reply.status, reply.body) == (400, "Host not allowed."), (url, reply)


@pytest.mark.timeout(30)
@pytest.mark.parametrize("prefix", ["/open", "/mux", None])
def test_a_foreign_host_websocket_closes_with_4400_before_it_opens(server, prefix) -> None:
    # A session id made per test, not at collection: pytest-xdist's processes must collect
    # the same test names.
    path = session_path(prefix) if prefix else "/open/websocket"
    ws = RawWebSocket.open(server.port, path, headers=evil(server.port))
    texts, close = ws.until_close()
    ws.close()
    assert (texts, close) == ([], (4400, "Host not allowed.")), path


@pytest.mark.timeout(30)
@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_the_sites_own_names_are_served(server, host) -> None:
    site = {"Host": "%s:%d" % (host, server.port), "Origin": "http://%s:%d" % (host, server.port)}
    ws = RawWebSocket.open(server.port, session_path("/open"), headers=site)
    assert ws.recv_text() == "o"
    ws.close()
    reply = http_request(server.port, "POST", session_path("/mux", "xhr"), headers=site)
    assert (reply.status, reply.body) == (200, "o\n")


@pytest.mark.timeout(30)
def test_refusals_are_counted_and_logged_once_per_episode(server) -> None:
    for _ in range(5):
        reply = http_request(server.port, "GET", "/open/info", headers=evil(server.port))
        assert reply.status == 400
    stats = http_request(
        server.port,
        "GET",
        "/clientsignal/stats.json",
        headers={"Authorization": "Bearer stats-token"},
    )
    counted = json.loads(stats.body)["services"]["/open"]["refused_hosts"]
    logged = server.log_text().count(
        "/open from 127.0.0.1: Host 'evil.example:%d' is not in " % server.port
    )
    print("\nforeign Host on /open: %d refusals counted, %d logged" % (counted, logged))
    assert counted >= 5 and logged == 1
