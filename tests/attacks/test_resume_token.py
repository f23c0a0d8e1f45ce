"""A history class's resume token (what lets a reconnecting client take its connection back,
and with it what was sent to that connection while it was away) is bound to the client's
credential cookie, as its sessions are, and never travels in a URL (access logs, proxies)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest

from tests.support.servers import GunicornServer, RedisServer

from .test_redis_down import figure
from .wire import Browser, HttpSession, RawWebSocket, events_of, http_request, session_path


@pytest.fixture(scope="module")
def site(start, tmp_path_factory) -> Iterator[tuple[GunicornServer, Path]]:
    """Two workers sharing sessions through Redis; gunicorn's access log, and the worker's
    line for each request (gevent-websocket writes those to its own logger) in its log."""
    log = tmp_path_factory.mktemp("access") / "access.log"
    with (
        RedisServer() as redis,
        start(
            workers=2,
            backend=redis.url,
            request_log="1",
            extra_args=("--access-logfile", str(log)),
        ) as server,
    ):
        yield server, log


def until_placed(texts) -> tuple[list[dict], dict]:
    """The events up to the message that says where the client stands (its resume token),
    and that message."""
    events: list[dict] = []
    for text in texts:
        for event in events_of([text]):
            if "resume" in event and "event" not in event:
                return events, event
            events.append(event)
    raise AssertionError("no resume token in %r" % events)


def frames(ws: RawWebSocket):
    while True:
        yield ws.recv_text()


def first_visit(browser: Browser) -> tuple[dict, dict]:
    """An xhr-polling session of /history (which gives the browser its sockjs_key): its
    hello and where it stands; then the browser stops polling, as one whose network went."""
    session = HttpSession(browser, "/history")
    session.open()

    def polls():
        while True:
            yield from session.poll()

    events, placed = until_placed(polls())
    [hello] = [event for event in events if event.get("event") == "hello"]
    return hello["data"], placed


def comeback(browser: Browser, placed: dict, form: str) -> tuple[list[dict], dict]:
    """A websocket of ``browser`` reconnecting with the token and positions of ``placed``:
    in its URL (``form="url"``, as clients did before), or as its first message after
    ``?recovering=1`` (as SignalSocket does); its events up to where it stands."""
    recovery = urlencode(
        {
            "recover": ",".join("%s~%s" % item for item in placed["positions"].items()),
            "resume": placed["resume"],
        }
    )
    query = recovery if form == "url" else "recovering=1"
    ws = RawWebSocket.open(
        browser.port, session_path("/history") + "?" + query, headers=browser.headers()
    )
    assert ws.recv_text() == "o"
    if form == "message":
        ws.send_text(json.dumps([recovery]))
    try:
        return until_placed(frames(ws))
    finally:
        ws.close()


def named(events: list[dict], event: str) -> list[dict]:
    return [e["data"] for e in events if e.get("event") == event]


@pytest.mark.timeout(60)
def test_a_resume_token_from_another_cookie_is_refused(site) -> None:
    server, _log = site
    alice = Browser(server.port)
    hello, placed = first_visit(alice)
    assert alice.cookies.get("sockjs_key")
    # Alice is away; something is sent to her connection meanwhile.
    reply = http_request(server.port, "GET", "/to-connection/%s/?text=secret" % hello["id"])
    assert reply.status == 200
    # Mallory has her token and positions (from a log, a shared computer), not her cookie.
    mallory = Browser(server.port)
    first_visit(mallory)
    assert mallory.cookies["sockjs_key"] != alice.cookies["sockjs_key"]
    for form in ("url", "message"):
        events, _placed = comeback(mallory, placed, form)
        [stolen] = named(events, "hello")
        assert stolen["id"] != hello["id"], form  # a connection of her own
        assert named(events, "dm") == [], form  # nothing sent to alice's
        gaps = [s["name"] for gap in named(events, "gap") for s in gap["streams"]]
        assert "connection" in gaps, (form, events)  # told her connection's stream is gone
    # Alice herself, with her cookie: her connection back, and what was sent to it.
    events, _placed = comeback(alice, placed, "message")
    [again] = named(events, "hello")
    assert again["id"] == hello["id"]
    assert named(events, "dm") == [{"text": "secret"}]
    assert named(events, "gap") == []


RECONNECT = """
async () => {
  const first = hello.id;
  const token = sock._resume;
  sock._sock.close();  // the transport drops: SignalSocket reconnects, with its token
  await new Promise((resolve) => {
    const wait = () => heard.filter(e => e[0] === 'open').length >= 2 && hello.id === first
      ? resolve() : setTimeout(wait, 20);
    wait();
  });
  return {token, id: hello.id, first};
}
"""


@pytest.mark.browser
@pytest.mark.timeout(90)
@pytest.mark.parametrize("transport", ["websocket", "xhr-polling"])
def test_the_resume_token_is_in_no_url(site, browser, transport) -> None:
    """No URL the browser asks for (what any proxy on the way logs), nor any line the
    server logs, carries the token of a session that reconnected and resumed."""
    server, access_log = site
    page = browser.new_context().new_page()
    urls: list[str] = []
    page.on("request", lambda request: urls.append(request.url))
    page.on("websocket", lambda ws: urls.append(ws.url))
    page.goto(server.url + "/pages/history/?transport=" + transport)
    page.wait_for_function("window.hello !== undefined && sock._resume", timeout=15000)
    resumed = page.evaluate(RECONNECT)
    assert resumed["id"] == resumed["first"]  # the same connection, resumed
    page.context.close()
    token = resumed["token"]
    forms = (token, quote(token, safe=""))
    sockjs = [url for url in urls if "/history/" in url]
    with_token = [url for url in sockjs if any(form in url for form in forms)]
    figure(
        "URLs of a resumed %s session" % transport,
        "%d, %d of them with the resume token" % (len(sockjs), len(with_token)),
    )
    assert len(sockjs) >= 3, urls  # its first session, its info request, its second session
    assert with_token == []
    logged = server.log_text() + (access_log.read_text() if access_log.exists() else "")
    assert "/history/" in logged  # the worker's request lines are there
    assert not any(form in logged for form in forms)
