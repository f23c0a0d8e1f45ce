"""A login revoked elsewhere ends its sockets: a password change from another device, the
user's sessions deleted ("log out everywhere"), the user deactivated. Real sockjs-client in
Chromium, on every transport kind (websocket, xhr-streaming, xhr-polling, a multiplexed
channel) and every worker, on one worker and on four with Redis: each socket of the revoked
session closes with ``4401 "Session ended"`` within the documented time, a socket of a class
that checks before every event never fires a signal as the user once the login is revoked,
and other users carry on."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator

import pytest

from tests.support.servers import GunicornServer, RedisServer

from .wire import Browser, RawWebSocket, session_path

pytestmark = [pytest.mark.browser]

SESSION_ENDED = [4401, "Session ended"]
CHECK_INTERVAL = 2.0
"""CLIENTSIGNAL_USER_CHECK_INTERVAL of these servers (seconds)."""
PUSHED_WITHIN = 2.0
"""Seconds within which a pushed revocation (a save of the user) closes every socket
(measured: 0.05 to 0.11 s; the rest is room for a busy CI machine)."""
TRANSPORTS = ("websocket", "xhr-streaming", "xhr-polling", "multiplexed")


@pytest.fixture(scope="module", params=["memory-1-worker", "redis-4-workers"])
def site(request, start) -> Iterator[tuple[GunicornServer, int]]:
    settings = {
        "user_check_interval": str(CHECK_INTERVAL),
        "sockjs_options": {"heartbeat_delay": 5},  # bob's raw websocket reads only when told
    }
    if request.param == "memory-1-worker":
        with start(workers=1, **settings) as server:
            yield server, 1
        return
    redis = RedisServer()
    with redis, start(workers=4, backend=redis.url, **settings) as server:
        yield server, 4


def open_sockets(page, workers: int) -> list[dict]:
    """On ``page``: a socket of each transport kind on /private, one on /strict, then more
    websockets until every worker holds one. Each: index, prefix, transport, worker pid."""
    for transport in TRANSPORTS:
        page.evaluate("([p, t]) => opened(p, t)", ["/private", transport])
    page.evaluate("([p, t]) => opened(p, t)", ["/strict", "websocket"])
    while len(pids(page)) < workers:
        page.evaluate("([p, t]) => opened(p, t)", ["/private", "websocket"])
        assert page.evaluate("sockets.length") < 60, "every socket landed on the same workers"
    return page.evaluate(
        "sockets.map((s, i) => ({index: i, prefix: s.prefix, transport: s.transport,"
        " pid: s.pongs[0].pid}))"
    )


def pids(page) -> set[int]:
    return set(page.evaluate("sockets.map(s => s.pongs[0].pid)"))


def revoke(server: GunicornServer, how: str, name: str) -> dict:
    """Revoke ``name``'s login in the browser from elsewhere: another device, an admin."""
    if how == "password":
        device = Browser(server.port)
        device.login(name)  # the same user on another device, which changes the password
        reply = device.request("GET", "/password/")
    elif how == "sessions":
        reply = Browser(server.port).request("GET", "/sessions/delete/%s/" % name)
    else:
        reply = Browser(server.port).request("GET", "/deactivate/%s/" % name)
    assert reply.status == 200, reply
    return {"reply": reply.body}


@pytest.mark.timeout(120)
@pytest.mark.parametrize("how", ["password", "sessions", "deactivation"])
def test_a_revoked_login_ends_its_sockets_everywhere(site, browser, how) -> None:
    server, workers = site
    name = "%s-%s" % (how, uuid.uuid4().hex[:6])
    context = browser.new_context()
    page = context.new_page()
    try:
        page.goto(server.url + "/login/%s/" % name)
        page.goto(server.url + "/sockets/")
        sockets = open_sockets(page, workers)
        assert {s["transport"] for s in sockets} >= set(TRANSPORTS)
        bob = Browser(server.port)
        bob.login("bob-" + name)
        bob_ws = RawWebSocket.open(server.port, session_path("/private"), headers=bob.headers())
        assert bob_ws.recv_text() == "o"

        revoke(server, how, name)
        revoked = time.monotonic()
        # The socket that checks before every event sends one (n: 100 + its index) at once.
        strict = [s["index"] for s in sockets if s["prefix"] == "/strict"]
        page.evaluate(
            "(strict) => strict.forEach(i => sockets[i].sock.send('ping', {n: 100 + i}))", strict
        )
        # Deleted sessions: a check falls due within the interval, the sweep runs every second.
        bound = PUSHED_WITHIN if how != "sessions" else CHECK_INTERVAL + 1 + PUSHED_WITHIN
        page.wait_for_function(
            "() => sockets.every(s => s.close)", timeout=(bound + 5) * 1000, polling=20
        )
        took = time.monotonic() - revoked
        closes = page.evaluate("sockets.map(s => s.close)")
        assert closes == [SESSION_ENDED] * len(sockets), closes
        print(
            "%s on %d worker(s): %d sockets (%s) closed %s within %.2f s"
            % (how, workers, len(sockets), ", ".join(TRANSPORTS), SESSION_ENDED, took)
        )
        assert took <= bound

        # It never fired a signal as the revoked user.
        fired = set(re.findall(r"receiver ran: ping n=(\d+) user=%s\b" % name, server.log_text()))
        assert not {str(100 + i) for i in strict} & fired, fired
        # A new socket with that browser's cookies is refused; bob never noticed.
        refused = page.evaluate(
            "opened('/private', 'websocket').then(() => 'opened', e => e.message)"
        )
        assert refused == "closed: 4401 Login required"
        bob_ws.send_event("ping", {"n": 1})
        assert bob_ws.next_event()["data"]["n"] == 1
        bob_ws.close()
    finally:
        context.close()
