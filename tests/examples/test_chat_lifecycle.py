"""What SignalSocket reports in Chromium, through gunicorn, for the chat's login_required room
(``/chat/<int:room_id>``): a refused session never opens, and one disconnection is one close.

The pages are the chat's login page, which loads the client: the only SignalSocket on them is
the test's own, recording its ``open``, ``close`` and ``reconnecting`` events. Both the
multiplexed chat (CLIENTSIGNAL_MULTIPLEX set: the room is a channel of the page's shared
session) and the unmultiplexed one (a SockJS session of its own), over a websocket and over an
HTTP transport.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from tests.examples.conftest import CHAT_USERS, run_example
from tests.support.servers import GunicornServer, _accepts, wait_for

pytestmark = pytest.mark.browser

TRANSPORTS = ["websocket", "xhr-polling"]
SERVERS = ["multiplexed", "unmultiplexed"]

# A SignalSocket on the room, its lifecycle events in window.events: [name, code, reason] for
# close, [name, attempt] for reconnecting. Short backoffs: the restart test waits for attempts.
RECORD = """([transport, minDelay, maxDelay]) => {
  window.events = [];
  const sock = window.recorded = new SignalSocket('/chat/1',
    {transports: [transport], minDelay: minDelay, maxDelay: maxDelay});
  sock.on('open', () => events.push(['open']));
  sock.on('close', (e) => events.push(['close', e.code, e.reason]));
  sock.on('reconnecting', (e) => events.push(['reconnecting', e.attempt]));
  return sock.multiplexed;
}"""


@pytest.fixture(scope="module")
def unmultiplexed_chat_server():
    yield from run_example("chat", setup=CHAT_USERS, CHAT_MULTIPLEX="")


@pytest.fixture
def server(request) -> GunicornServer:
    name = {"multiplexed": "chat_server", "unmultiplexed": "unmultiplexed_chat_server"}
    return request.getfixturevalue(name[request.param])


def record(page, transport, server_kind, min_delay=500, max_delay=10000):
    multiplexed = page.evaluate(RECORD, [transport, min_delay, max_delay])
    assert multiplexed == (server_kind == "multiplexed")


def events(page):
    return page.evaluate("events")


@pytest.mark.timeout(60)
@pytest.mark.parametrize("server", SERVERS, indirect=True)
@pytest.mark.parametrize("transport", TRANSPORTS)
def test_anonymous_client_sees_one_close_4401_and_nothing_else(page, server, transport, request):
    kind = request.node.callspec.params["server"]
    page.goto(server.url + "/login/")
    record(page, transport, kind)
    page.wait_for_function("events.some((e) => e[0] === 'close')", timeout=15000)
    # reconnecting would have come with the close, in the same call: none, and no attempt is
    # scheduled.
    assert events(page) == [["close", 4401, "Login required"]]
    assert page.evaluate("[recorded.readyState, recorded._timer, recorded._stopped]") == [
        3,
        None,
        True,
    ]
    if kind == "multiplexed":
        # Its only channel refused, the shared session is gone too.
        assert page.evaluate("recorded._mux.sock") is None


def log_in(browser, server):
    """A page of alice's, on the login page (which loads the client) again."""
    context = browser.new_context()
    page = context.new_page()
    page.goto(server.url + "/login/?next=/login/")
    page.fill("#id_username", "alice")
    page.fill("#id_password", "pw-alice")
    page.click("#login")
    page.wait_for_url("**/login/", timeout=15000)
    page.wait_for_function("typeof SignalSocket === 'function'")
    return page


def kill_hard(server: GunicornServer) -> None:
    """SIGKILL gunicorn's master and its workers: connections drop with no close frame."""
    assert server.proc is not None
    master = server.proc.pid
    workers = [pid for pid in _processes() if _parent(pid) == master]
    assert workers, "no gunicorn worker found"
    server.kill()
    for pid in workers:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    wait_for(lambda: not _accepts(server.port), 10, "the port to free")


def _processes() -> list[int]:
    return [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit()]


def _parent(pid: int) -> int | None:
    try:
        stat = Path("/proc/%d/stat" % pid).read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[1])


@pytest.mark.timeout(90)
@pytest.mark.parametrize(
    "transport, server, how",
    [
        *[(t, s, "kill") for t in TRANSPORTS for s in SERVERS],
        # A stopping worker closes its sessions with 1001 and refuses new ones while it may
        # still accept connections: a client reconnecting at once is not opened there only to
        # be dropped again when the worker exits.
        ("websocket", "multiplexed", "stop"),
        ("xhr-polling", "unmultiplexed", "stop"),
    ],
    indirect=["server"],
)
def test_server_down_and_back_is_one_close(browser, server, transport, how, request):
    kind = request.node.callspec.params["server"]
    page = log_in(browser, server)
    try:
        record(page, transport, kind, min_delay=100, max_delay=400)
        page.wait_for_function("events.length > 0", timeout=15000)
        assert events(page) == [["open"]]
        if how == "stop":
            server.stop()  # graceful: sessions closed with 1001 "Server shutting down"
            code = 1001
        else:
            kill_hard(server)
            code = 1006
        # The drop's close and its reconnecting, then three failed attempts at least.
        page.wait_for_function(
            "events.filter((e) => e[0] === 'reconnecting').length >= 4", timeout=15000
        )
        server.start()  # the same port
        page.wait_for_function("events.at(-1)[0] === 'open' && events.length > 2", timeout=30000)
        seen = events(page)
        assert seen[0] == ["open"]
        assert seen[1][:2] == ["close", code]
        attempts = seen[2:-1]
        assert len(attempts) >= 4
        assert attempts == [["reconnecting", n] for n in range(1, len(attempts) + 1)]
        assert seen[-1] == ["open"]
        assert [e[0] for e in seen].count("close") == 1
    finally:
        page.context.close()
        if server.proc is None or server.proc.poll() is not None:
            wait_for(lambda: not _accepts(server.port), 10, "the port to free")
            server.start()
