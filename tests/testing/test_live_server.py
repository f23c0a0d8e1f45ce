"""The live server fixture in Chromium: the browser's connection (in the server's thread) and
a communicator (in the test's) in one room, with the test's own database and signals."""

from __future__ import annotations

import contextlib

import pytest
from django.contrib.auth.models import User
from django.test import override_settings

from clientsignal.testing.communicator import login_cookies
from tests.support.servers import RedisServer, wait_for
from tests.testing import rooms

pytestmark = pytest.mark.browser


@pytest.fixture(params=["memory", "redis"])
def users(request):
    """Two users, the test's connections and pages, on the in-process backend or Redis (set
    before the live server starts: it reads the settings then)."""
    with contextlib.ExitStack() as stack:
        backend = None
        if request.param == "redis":
            backend = stack.enter_context(RedisServer()).url
        stack.enter_context(
            override_settings(
                CLIENTSIGNAL_CONNECTIONS=rooms.CONNECTIONS,
                CLIENTSIGNAL_BACKEND=backend,
                ROOT_URLCONF="tests.testing.pages",
            )
        )
        made = [User.objects.create_user(name) for name in ("live-alice", "live-bob")]
        yield made
        User.objects.filter(pk__in=[user.pk for user in made]).delete()


def said(page):
    return page.eval_on_selector_all("#log li", "lis => lis.map(li => li.textContent)")


def test_a_browser_and_a_communicator_in_one_room(
    users, signal_live_server, signal_communicator, page
):
    alice, bob = users
    # The browser is alice: a Django session made by the test, read by the server's thread.
    page.context.add_cookies(
        [
            {"name": name, "value": value, "url": signal_live_server.url}
            for name, value in login_cookies(alice).items()
        ]
    )
    page.goto(signal_live_server.url + "/room/7/")
    page.wait_for_selector("body[data-state=open]", timeout=15000)
    bob_tab = signal_communicator("/rooms/7", user=bob)
    assert bob_tab.connect().connected

    bob_tab.send("say", {"text": "hello from the test"})
    page.wait_for_function("document.querySelectorAll('#log li').length == 1")
    assert said(page) == ["live-bob: hello from the test"]

    page.evaluate("sock.send('say', {text: 'hello from Chromium'})")
    assert bob_tab.receive() == (
        "said",
        {"room_id": 7, "text": "hello from the test", "by": "live-bob", "sender": None},
    )
    assert bob_tab.receive(timeout=10) == (
        "said",
        {"room_id": 7, "text": "hello from Chromium", "by": "live-alice", "sender": None},
    )

    # A signal the test sends reaches the browser's connection, in the server's thread.
    rooms.said.send(sender=None, room_id=7, text="from a view", by="server")
    page.wait_for_function("document.querySelectorAll('#log li').length == 3")
    assert said(page)[1:] == ["live-alice: hello from Chromium", "server: from a view"]


@pytest.mark.parametrize("nonce_from", ["argument", "request"])
def test_a_page_under_a_strict_content_security_policy(
    users, signal_live_server, signal_communicator, page, nonce_from
):
    """``script-src 'nonce-…'`` and nothing else: the tag's scripts carry the nonce, and the
    page's socket opens and receives; the browser reports no violation."""
    violations: list[str] = []
    page.on("console", lambda message: violations.append(message.text))
    alice, bob = users
    page.context.add_cookies(
        [
            {"name": name, "value": value, "url": signal_live_server.url}
            for name, value in login_cookies(alice).items()
        ]
    )
    page.goto(signal_live_server.url + "/strict/8/?from=" + nonce_from)
    page.wait_for_selector("body[data-state=open]", timeout=15000)
    bob_tab = signal_communicator("/rooms/8", user=bob)
    assert bob_tab.connect().connected
    bob_tab.send("say", {"text": "under a strict CSP"})
    # Polled from here: wait_for_function evaluates its string in the page, which the CSP
    # forbids ('unsafe-eval'); evaluate() goes through the debugger, which it does not.
    wait_for(lambda: page.evaluate("document.querySelectorAll('#log li').length") == 1, 10, "it")
    assert said(page) == ["live-bob: under a strict CSP"]
    assert not [text for text in violations if "Content Security Policy" in text]
