"""A session id is not a bearer token: an HTTP-fallback session's later requests (sends,
polls, streams) are accepted only with the credential that opened it, under the prefix that
opened it, on whichever worker they land.

The attacker knows the victim's session id (from a log, a proxy, a shoulder) and sends plain
HTTP: no cookie, no Origin (allowed through the origin check, since it can act as nobody), or
cookies of its own. Every forged request gets ``404 Session not found.``; the victim's own
requests keep working, forwarded between workers by Redis in the cluster case. Each attack is
made through a keep-alive connection to every worker, so in the cluster some land on the
session's owner and some are forwarded to it. clientsignal logs at DEBUG here, and no line
names a session.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest

from tests.support.servers import GunicornServer, RedisServer, wait_for

from .wire import (
    Browser,
    HttpSession,
    Pinned,
    RawWebSocket,
    http_request,
    jsonp_send,
    pin_workers,
    session_path,
    sockjs_message,
)

FORGED = sockjs_message("ping", {"n": 666})
NOT_FOUND = (404, "Session not found.")
REFUSED_LINE = "refused a request for a session another client opened"


@pytest.fixture(scope="module", params=["memory-1-worker", "redis-4-workers"])
def site(request, start) -> Iterator[tuple[GunicornServer, list[Pinned]]]:
    """The server, and a keep-alive connection to each of its workers."""
    if request.param == "memory-1-worker":
        with start(workers=1, header_timeout="30", log_level="DEBUG") as server:
            pinned = pin_workers(server.port, 1)
            yield server, pinned
            for conn in pinned:
                conn.close()
        return
    redis = RedisServer()
    with (
        redis,
        start(workers=4, backend=redis.url, header_timeout="30", log_level="DEBUG") as server,
    ):
        pinned = pin_workers(server.port, 4)
        yield server, pinned
        for conn in pinned:
            conn.close()


def owner_pid(session: HttpSession, n: int = 1) -> int:
    """The pid of the worker holding ``session`` (its ping receiver answers with it)."""
    assert session.send("ping", {"n": n}).status == 204
    (pong,) = session.events()
    assert pong["data"]["n"] == n
    return pong["data"]["pid"]


def assert_not_found(reply) -> None:
    assert (reply.status, reply.body) == NOT_FOUND, (reply.status, reply.body)


def assert_no_session_ids(server: GunicornServer, *ids: str) -> None:
    log = server.log_text()
    for session_id in ids:
        assert session_id not in log


@pytest.mark.timeout(60)
def test_forged_sends_fire_nothing(site) -> None:
    server, workers = site
    alice = Browser(server.port)
    alice.login("alice")
    session = HttpSession(alice, "/private")
    session.open()
    owner = owner_pid(session)
    mallory = Browser(server.port)
    mallory.login("mallory")
    for via in workers:
        # Plain HTTP, no cookie, no Origin: xhr_send and jsonp_send (a form post).
        assert_not_found(via.request("POST", session.base + "/xhr_send", FORGED))
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        body = "d=" + FORGED.replace("%", "%25").replace("&", "%26").replace("+", "%2B")
        assert_not_found(via.request("POST", session.base + "/jsonp_send", body, form))
        # The attacker's own login, from an allowed page; another sockjs_key.
        assert_not_found(mallory.request("POST", session.base + "/xhr_send", FORGED, via=via))
        forged_key = {"Cookie": "sockjs_key=guessed", "Origin": "http://127.0.0.1"}
        assert_not_found(via.request("POST", session.base + "/xhr_send", FORGED, forged_key))
    assert_not_found(jsonp_send(server.port, session.base + "/jsonp_send", FORGED))
    # The receiver never ran for the forged messages: alice's next poll has her own pong only.
    for n, via in enumerate(workers, start=2):
        assert session.send("ping", {"n": n}, via=via).status == 204
        events = session.events(via=via)
        assert [(e["event"], e["data"]["n"], e["data"]["sender"]) for e in events] == [
            ("pong", n, "alice")
        ]
        assert events[0]["data"]["pid"] == owner
    log = server.log_text()
    assert "receiver ran: ping n=666" not in log
    assert "receiver ran: ping n=2 user=alice" in log
    assert REFUSED_LINE in log
    assert_no_session_ids(server, session.id)


@pytest.mark.timeout(60)
def test_foreign_polls_take_nothing(site) -> None:
    server, workers = site
    alice = Browser(server.port)
    alice.login("alice")
    session = HttpSession(alice, "/private")
    session.open()
    owner = owner_pid(session)
    # A websocket of alice's on the owner's worker: when the private message reaches it, it
    # is queued on the polling session too (one subscriber delivers to both, in order).
    sockets = []
    while True:
        ws = RawWebSocket.open(server.port, session_path("/private"), headers=alice.headers())
        sockets.append(ws)
        assert ws.recv_text() == "o"
        ws.send_event("ping", {"n": 0})
        if ws.next_event()["data"]["pid"] == owner:
            break
        assert len(sockets) < 60, "no websocket reached the owner's worker"
    assert http_request(server.port, "GET", "/dm/alice/?text=secret-dm-42").status == 200
    assert ws.next_event() == {"event": "dm", "data": {"text": "secret-dm-42"}}
    assert session.send("ping", {"n": 7}).status == 204  # a pong queued as well
    mallory = Browser(server.port)
    mallory.login("mallory")
    for via in workers:
        for method, transport in [
            ("POST", "xhr"),
            ("POST", "xhr_streaming"),
            ("GET", "eventsource"),
            ("GET", "htmlfile?c=steal"),
            ("GET", "jsonp?c=steal"),
        ]:
            path = "%s/%s" % (session.base, transport)
            reply = via.request(method, path)
            assert_not_found(reply)
            reply = mallory.request(method, path, via=via)
            assert_not_found(reply)
    # Everything is still there for alice, on her next poll, wherever it lands.
    events = session.events(via=workers[-1])
    assert {"event": "dm", "data": {"text": "secret-dm-42"}} in events
    assert [e["data"]["n"] for e in events if e["event"] == "pong"] == [7]
    for ws in sockets:
        ws.close()
    assert "receiver ran: ping n=666" not in server.log_text()
    assert_no_session_ids(server, session.id)


@pytest.mark.timeout(60)
def test_anonymous_sessions_are_bound_to_their_key(site) -> None:
    server, workers = site
    victim = Browser(server.port)
    session = HttpSession(victim, "/open")
    opened = session.open()
    (cookie,) = [c for c in opened.set_cookies() if c.startswith("sockjs_key=")]
    attributes = {a.strip().lower() for a in cookie.split(";")[1:]}
    assert {"httponly", "samesite=lax", "path=/"} <= attributes
    assert "sockjs_key" in victim.cookies
    for via in workers:
        assert_not_found(via.request("POST", session.base + "/xhr_send", FORGED))
        assert_not_found(via.request("POST", session.base + "/xhr"))
        other_key = {
            "Cookie": "sockjs_key=another-clients-key",
            "Origin": victim.headers()["Origin"],
        }
        assert_not_found(via.request("POST", session.base + "/xhr_send", FORGED, other_key))
        assert_not_found(via.request("POST", session.base + "/xhr", None, other_key))
    for n, via in enumerate(workers, start=1):
        assert session.send("ping", {"n": n}, via=via).status == 204
        assert [e["data"]["n"] for e in session.events(via=via)] == [n]
    assert "receiver ran: ping n=666" not in server.log_text()
    assert_no_session_ids(server, session.id)


@pytest.mark.timeout(60)
def test_another_prefix_reaches_no_session(site) -> None:
    server, workers = site
    alice = Browser(server.port)
    alice.login("alice")
    session = HttpSession(alice, "/chat/7")
    session.open()
    for via in workers:
        for prefix in ("/chat/999", "/chat/007"):
            # Alice herself, with her own cookies: the session belongs to /chat/7 only.
            other = HttpSession(alice, prefix, session.id)
            assert_not_found(alice.request("POST", other.base + "/xhr_send", FORGED, via=via))
            assert_not_found(other.poll_reply(via=via))
    for n, via in enumerate(workers, start=1):
        assert session.send("ping", {"n": n}, via=via).status == 204
        events = session.events(via=via)
        assert [(e["data"]["n"], e["data"]["room"]) for e in events] == [(n, 7)]
    assert "receiver ran: ping n=666" not in server.log_text()
    assert_no_session_ids(server, session.id)


@pytest.mark.timeout(60)
def test_a_tossed_cookie_does_not_bind_the_victims_session(site) -> None:
    server, workers = site
    alice = Browser(server.port)
    alice.login("alice")
    tossed = "chosen-by-mallory"
    # The browser sends the tossed cookie (Path=/private, longer) before its own (Path=/).
    both = {"Cookie": "sessionid=%s; sessionid=%s" % (tossed, alice.cookies["sessionid"])}
    session = HttpSession(alice, "/private")
    opened = alice.request("POST", session.base + "/xhr", headers=both)
    assert (opened.status, opened.body) == (200, "o\n")  # Django saw alice (login required)
    # Not a browser: any Origin it likes.
    mallory = {"Cookie": "sessionid=" + tossed, "Origin": alice.headers()["Origin"]}
    try:
        for via in workers:
            assert_not_found(via.request("POST", session.base + "/xhr_send", FORGED, mallory))
            assert_not_found(via.request("POST", session.base + "/xhr", None, mallory))
    finally:
        ran = [line for line in server.log_text().splitlines() if "ping n=666" in line]
        print("forged pings run:", ran[:1])
    assert not ran


def test_refusals_are_logged_once_and_counted(site) -> None:
    """After the attacks above: the refusals were logged (once per worker per minute, then
    counted in the stats) and no refusal line names a session."""
    server, workers = site
    log = server.log_text()
    refusals = [line for line in log.splitlines() if REFUSED_LINE in line]
    assert 1 <= len(refusals) <= 4 * 3  # at most once per worker and service
    for line in refusals:
        assert not re.search(r"[0-9a-f]{32}", line), line
    assert not re.search(r"/000/[0-9a-f]{32}", log)

    def counted() -> int:
        reply = http_request(
            server.port,
            "GET",
            "/clientsignal/stats.json",
            headers={"Authorization": "Bearer stats-token"},
        )
        services = json.loads(reply.body)["services"]
        total = sum(s.get("foreign_requests", 0) for s in services.values())
        # Every forged request of the tests above: 22 through each worker, one more.
        return total if total >= 22 * len(workers) + 1 else 0

    wait_for(counted, 10, "the refusals in the stats")
