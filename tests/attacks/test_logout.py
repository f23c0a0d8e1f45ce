"""Logging out closes the sockets of that Django session, on every worker: websockets,
streaming HTTP sessions and multiplexed channels get ``4401 "Logged out"``; another Django
session of the same user, and other users, stay open."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.support.http import Stream
from tests.support.servers import GunicornServer, RedisServer

from .wire import Browser, RawWebSocket, session_path

LOGGED_OUT = 'c[4401,"Logged out"]'


@pytest.fixture(scope="module", params=["memory-1-worker", "redis-2-workers"])
def site(request, start) -> Iterator[tuple[GunicornServer, int]]:
    options = {"heartbeat_delay": 5}
    if request.param == "memory-1-worker":
        with start(workers=1, sockjs_options=options) as server:
            yield server, 1
        return
    redis = RedisServer()
    with redis, start(workers=2, backend=redis.url, sockjs_options=options) as server:
        yield server, 2


def websocket(browser: Browser, prefix: str = "/private") -> tuple[RawWebSocket, int]:
    """A websocket with the browser's cookies, and the pid of the worker it landed on."""
    ws = RawWebSocket.open(browser.port, session_path(prefix), headers=browser.headers())
    assert ws.recv_text() == "o"
    ws.send_event("ping", {"n": 0})
    return ws, ws.next_event()["data"]["pid"]


def on_every_worker(browser: Browser, workers: int) -> tuple[list[RawWebSocket], set[int]]:
    """Websockets of ``browser`` until every worker holds at least one; their workers' pids."""
    sockets: list[RawWebSocket] = []
    pids: set[int] = set()
    while len(pids) < workers:
        ws, pid = websocket(browser)
        sockets.append(ws)
        pids.add(pid)
        assert len(sockets) < 60, "every websocket landed on one worker"
    return sockets, pids


class StreamingSession:
    """An xhr-streaming session: the prelude and the open frame, then frames as they come."""

    def __init__(self, browser: Browser, prefix: str = "/private") -> None:
        url = "http://127.0.0.1:%d%s" % (browser.port, session_path(prefix, "xhr_streaming"))
        self.stream = Stream("POST", url, headers=browser.headers())
        assert self.stream.status == 200
        self.received = ""
        self.until("o\n")

    def until(self, text: str) -> str:
        while text not in self.received:
            chunk = self.stream.read_chunk()
            assert chunk, "the stream ended: %r" % self.received[-200:]
            self.received += chunk
        return self.received


@pytest.mark.timeout(60)
def test_logout_closes_that_sessions_sockets_everywhere(site) -> None:
    server, workers = site
    alice = Browser(server.port)
    alice.login("alice")
    sockets, pids = on_every_worker(alice, workers)
    stream = StreamingSession(alice)
    mux = RawWebSocket.open(server.port, session_path("/mux"), headers=alice.headers())
    assert mux.recv_text() == "o"
    mux.send_text(json.dumps(["sub,/private"]))
    assert mux.recv_text() == 'a["sub,/private"]'
    # Alice in another browser (another Django session), and bob: not logged out.
    elsewhere = Browser(server.port)
    elsewhere.login("alice")
    other_sockets, _ = on_every_worker(elsewhere, workers)
    bob = Browser(server.port)
    bob.login("bob")
    bob_socket, _ = websocket(bob)

    logged_out_by = alice.logout()["pid"]
    # With two workers, some of alice's sockets are on the worker the logout did not reach.
    assert len(pids - {logged_out_by}) == workers - 1

    for ws in sockets:
        texts, close = ws.until_close()
        assert texts[-1:] == [LOGGED_OUT], texts
        assert close is not None, "no websocket close frame"
    stream.until(LOGGED_OUT)
    assert stream.stream.read_chunk() == ""  # and the response ends
    assert mux.recv_text() == "a" + json.dumps(['uns,/private,[4401,"Logged out"]'])
    for ws in (*other_sockets, bob_socket):
        ws.send_event("ping", {"n": 1})
        assert ws.next_event()["data"]["n"] == 1
    for ws in (*other_sockets, bob_socket, mux):
        ws.close()
    stream.stream.close()
