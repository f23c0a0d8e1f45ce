"""The chat example: logged-in users through gunicorn in Chromium, rooms, multiplexing, and
SignalSocket's reconnect across a server restart."""

from __future__ import annotations

import time
import uuid
from urllib.parse import quote

import pytest
import websocket

from tests.examples.conftest import CHAT_USERS, run_example
from tests.support.transports import BROWSER_TRANSPORTS

pytestmark = pytest.mark.browser


def log_in(browser, server, name, transport=None, room=None):
    context = browser.new_context()
    page = context.new_page()
    # Every websocket the page opens, to count the underlying connections.
    page.websockets = []
    page.on("websocket", lambda ws: page.websockets.append(ws))
    after = "/rooms/%d/" % room if room else "/"
    query = "?transport=" + transport if transport else ""
    page.goto(server.url + "/login/?next=" + quote(after + query))
    page.fill("#id_username", name)
    page.fill("#id_password", "pw-" + name)
    page.click("#login")
    page.wait_for_selector("#state:text('connected')", timeout=15000)
    return page


def say(page, text):
    page.fill("#text", text)
    page.press("#text", "Enter")


def messages(page):
    return page.eval_on_selector_all("#log li.message", "lis => lis.map(li => li.textContent)")


def test_two_users_chat(browser, chat_server):
    alice = log_in(browser, chat_server, "alice")
    bob = log_in(browser, chat_server, "bob", transport="xhr-polling")
    try:
        alice.wait_for_selector("#online:text('alice, bob')", timeout=15000)
        say(alice, "hello bob")
        for page in (alice, bob):
            page.wait_for_selector("#log li.message", timeout=15000)
        say(bob, "hi alice")
        for page in (alice, bob):
            page.wait_for_function("document.querySelectorAll('#log li.message').length == 2")
            assert messages(page) == ["alice: hello bob", "bob: hi alice"]
    finally:
        alice.context.close()
        bob.context.close()


def test_anonymous_clients_are_refused(chat_server):
    url = "ws://127.0.0.1:%d/chat/1/000/%s/websocket" % (chat_server.port, uuid.uuid4())
    ws = websocket.create_connection(url, timeout=10)
    # Rejected before it opened: the close frame without the open frame.
    assert ws.recv() == 'c[4401,"Login required"]'
    ws.close()


@pytest.mark.timeout(90)
def test_reconnect_delivers_queued_sends_once(browser, chat_server):
    alice = log_in(browser, chat_server, "alice")
    try:
        chat_server.stop()
        alice.wait_for_selector("#state:text('reconnecting')", timeout=15000)
        say(alice, "said while the server was down")
        assert alice.evaluate("sock._queue.length") == 1
        chat_server.start()
        alice.wait_for_selector("#log li.message", timeout=30000)
        say(alice, "after")
        alice.wait_for_function("document.querySelectorAll('#log li.message').length >= 2")
        assert messages(alice) == ["alice: said while the server was down", "alice: after"]
    finally:
        alice.context.close()


@pytest.fixture(scope="module")
def staff_stats(browser, chat_server):
    """Reads /clientsignal/stats.json as a logged-in staff user, with no page of its own
    open (so no session of its own in the stats)."""
    page = log_in(browser, chat_server, "staff")
    context = page.context
    page.close()

    def read():
        response = context.request.get(chat_server.url + "/clientsignal/stats.json")
        assert response.ok, response.text()
        return response.json()["services"]

    yield read
    context.close()


def wait_for_stats(read, condition, timeout=15):
    """The services' stats once ``condition(services)`` holds (polled)."""
    deadline = time.monotonic() + timeout
    while True:
        services = read()
        if condition(services):
            return services
        assert time.monotonic() < deadline, services
        time.sleep(0.1)


@pytest.mark.parametrize("transport", BROWSER_TRANSPORTS)
def test_logged_in_user_on_every_transport(browser, chat_server, staff_stats, transport):
    # Cookies ride along on every transport, and the origin check lets the site's own pages in.
    page = log_in(browser, chat_server, "alice", transport=transport)
    try:
        assert page.evaluate("sock.transport") == transport
        say(page, "via " + transport)
        page.wait_for_selector("#log li.message", timeout=15000)
        assert messages(page) == ["alice: via " + transport]
        # One name per transport: the stats count this page's session under the name the
        # client gives its transport (the iframe-* ones use the plain ones' URLs, so the
        # server sees them as those). Sessions of earlier tests may take a few seconds to
        # expire, so wait until this one is the only one.
        name = transport.removeprefix("iframe-")
        expected = {
            "/clientsignal/multiplex": {name: 1},
            "/chat/<int:room_id>": {name + " (multiplexed)": 1},
            "/lobby": {name + " (multiplexed)": 1},
        }
        wait_for_stats(
            staff_stats,
            lambda services: {p: services.get(p, {}).get("open") for p in expected} == expected,
        )
    finally:
        page.context.close()


def test_whisper_reaches_every_tab_of_one_user_only(browser, chat_server):
    alice1 = log_in(browser, chat_server, "alice")
    alice2 = alice1.context.new_page()  # a second tab, same session
    alice2.goto(chat_server.url + "/?transport=xhr-streaming")
    alice2.wait_for_selector("#state:text('connected')", timeout=15000)
    bob = log_in(browser, chat_server, "bob")
    try:
        say(bob, "/w alice psst")
        for page in (alice1, alice2):
            page.wait_for_selector("#log li.whisper", timeout=15000)
            assert page.inner_text("#log li.whisper") == "bob whispers: psst"
        say(bob, "/w bob to myself")  # marks the end of what bob's tab receives
        bob.wait_for_selector("#log li.whisper", timeout=15000)
        assert bob.eval_on_selector_all("#log li.whisper", "l => l.map(x => x.textContent)") == [
            "bob whispers: to myself"
        ]
    finally:
        alice1.context.close()
        bob.context.close()


def test_live_stats_page_updates_itself(browser, chat_server):
    staff = log_in(browser, chat_server, "staff")  # staff may chat too, and see the stats
    try:
        stats = staff.context.new_page()
        stats.goto(chat_server.url + "/clientsignal/stats/")
        stats.wait_for_selector("#stats-state:text('live')", timeout=15000)
        # The chat's channels, inside the multiplexed sessions of the staff's two pages.
        row = "#services tr[data-prefix='/chat/<int:room_id>'] td:nth-child(3)"
        stats.wait_for_function(
            "s => (document.querySelector(s) || {}).textContent === 'websocket (multiplexed): 1'",
            arg=row,
            timeout=15000,
        )
        bob = log_in(browser, chat_server, "bob", transport="xhr-polling")
        stats.wait_for_function(
            "s => ((document.querySelector(s) || {}).textContent || '')"
            ".includes('xhr-polling (multiplexed): 1')",
            arg=row,
            timeout=15000,
        )
        bob.context.close()
    finally:
        staff.context.close()


def test_stats_page_is_for_staff(browser, chat_server):
    alice = log_in(browser, chat_server, "alice")
    try:
        response = alice.goto(chat_server.url + "/clientsignal/stats/")
        assert "/admin/login/" in alice.url  # sent to the admin login
        assert response.status == 200
    finally:
        alice.context.close()


def test_two_endpoints_share_one_socket(browser, chat_server):
    alice = log_in(browser, chat_server, "alice")
    try:
        # The lobby has counted alice in room 1: both channels are open.
        alice.wait_for_selector(".count[data-room='1']:text('1')", timeout=15000)
        assert alice.evaluate("[lobby.multiplexed, sock.multiplexed]") == [True, True]
        assert [ws.url.split("/")[3:5] for ws in alice.websockets] == [
            ["clientsignal", "multiplex"]
        ]
    finally:
        alice.context.close()


@pytest.fixture(scope="module")
def unmultiplexed_chat_server():
    yield from run_example("chat", setup=CHAT_USERS, CHAT_MULTIPLEX="")


def test_without_multiplexing_each_endpoint_has_its_socket(browser, unmultiplexed_chat_server):
    alice = log_in(browser, unmultiplexed_chat_server, "alice")
    try:
        alice.wait_for_selector(".count[data-room='1']:text('1')", timeout=15000)
        assert alice.evaluate("[lobby.multiplexed, sock.multiplexed]") == [False, False]
        assert sorted(ws.url.split("/")[3] for ws in alice.websockets) == ["chat", "lobby"]
    finally:
        alice.context.close()


def test_room_broadcast_reaches_that_room_only(browser, chat_server):
    staff = log_in(browser, chat_server, "staff", room=1)
    bob = log_in(browser, chat_server, "bob", room=2)
    alice = log_in(browser, chat_server, "alice", room=1)
    try:
        # alice moves to room 2 on the same socket: her room channel closes, another opens.
        alice.click("#rooms a[data-room='2']")
        alice.wait_for_selector("#room:text('2')")
        alice.wait_for_selector("#state:text('connected')", timeout=15000)
        alice.wait_for_selector(".count[data-room='2']:text('2')", timeout=15000)
        assert alice.url.endswith("/rooms/2/")
        say(staff, "for room 1")
        staff.wait_for_selector("#log li.message", timeout=15000)  # delivered in room 1
        say(bob, "for room 2")
        for page in (alice, bob):
            page.wait_for_selector("#log li.message", timeout=15000)
            assert messages(page) == ["bob: for room 2"]
        assert messages(staff) == ["staff: for room 1"]
        # The room changed without reconnecting: still the one socket.
        assert len(alice.websockets) == 1 and not alice.websockets[0].is_closed()
    finally:
        for page in (staff, bob, alice):
            page.context.close()
