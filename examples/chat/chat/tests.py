"""The chat's tests, as a Django app's: `python manage.py test chat`, or `pytest` (with
pytest-django) in this folder.

The connections are tested like views: a SignalCommunicator is one browser tab's socket,
driven through clientsignal's real SockJS core, authentication and backend with no server.
One test opens the real page in Chromium against a live server, when Playwright is there.
"""

import os
import shutil
import unittest

from django.contrib.auth.models import User
from django.test import TestCase

from clientsignal.testing import CallRejected, SignalCommunicator, SignalLiveServerTestCase


class ChatTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.alice = User.objects.create_user("alice")
        cls.bob = User.objects.create_user("bob")
        cls.carol = User.objects.create_user("carol")

    def enter(self, user, room=1):
        """``user`` opens room ``room`` in a new tab."""
        tab = SignalCommunicator("/chat/%d" % room, user=user)
        connected, code = tab.connect()
        self.assertTrue(connected, code)
        self.addCleanup(tab.disconnect)
        return tab

    def heard(self, tab, event, user):
        """``tab`` hears that ``user`` came (``join``) or went (``leave``)."""
        received, data = tab.receive()
        self.assertEqual((received, data["user"]["username"]), (event, user.username))

    def test_the_page_needs_a_login(self):
        response = self.client.get("/rooms/1/")
        self.assertRedirects(response, "/login/?next=/rooms/1/")

    def test_the_page_shows_the_room(self):
        self.client.force_login(self.alice)
        response = self.client.get("/rooms/2/")
        self.assertContains(response, 'id="room">2</span>')

    def test_anonymous_sockets_are_refused(self):
        self.assertEqual(SignalCommunicator("/chat/1").connect(), (False, 4401))
        self.assertEqual(SignalCommunicator("/lobby").connect(), (False, 4401))

    def test_the_pages_session_is_the_sockets(self):
        self.client.force_login(self.alice)
        with SignalCommunicator("/chat/3", client=self.client) as tab:
            self.assertEqual(tab.connection.user, self.alice)
            self.assertEqual(tab.connection.kwargs, {"room_id": 3})

    def test_what_is_said_reaches_that_room_only(self):
        alice = self.enter(self.alice, room=1)
        bob = self.enter(self.bob, room=1)
        self.heard(alice, "join", self.bob)
        carol = self.enter(self.carol, room=2)

        alice.send("say", {"text": "hello room 1"})
        message = (
            "message",
            {"room_id": 1, "user": "alice", "text": "hello room 1", "sender": None},
        )
        self.assertEqual(alice.receive(), message)
        self.assertEqual(bob.receive(), message)
        self.assertTrue(carol.receive_nothing())

    def test_who_is_here_is_a_call(self):
        alice = self.enter(self.alice)
        self.assertEqual(alice.call("who"), ["alice"])
        second_tab = self.enter(self.alice)  # a second tab is not a second person
        self.enter(self.bob)
        self.heard(alice, "join", self.bob)
        self.assertEqual(second_tab.call("who"), ["alice", "bob"])
        with self.assertRaises(CallRejected) as refused:
            alice.call("who", {"room": 2})
        self.assertEqual(refused.exception.message, "event 'who' does not accept room")

    def test_leaving_tells_the_room(self):
        alice = self.enter(self.alice)
        bob = self.enter(self.bob)
        self.heard(alice, "join", self.bob)
        bob.disconnect()
        self.heard(alice, "leave", self.bob)
        self.assertEqual(alice.call("who"), ["alice"])

    def test_a_whisper_reaches_every_tab_of_its_user_only(self):
        alice_room1 = self.enter(self.alice, room=1)
        alice_room2 = self.enter(self.alice, room=2)
        bob = self.enter(self.bob, room=1)
        self.heard(alice_room1, "join", self.bob)
        with SignalCommunicator("/lobby", user=self.alice) as lobby:
            self.assertEqual(lobby.receive(), ("rooms", {"counts": {"1": 2, "2": 1, "3": 0}}))
            bob.send("whisper", {"to": "alice", "text": "psst"})
            whisper = ("whisper", {"user": "bob", "text": "psst"})
            self.assertEqual(alice_room1.receive(), whisper)
            self.assertEqual(alice_room2.receive(), whisper)
            self.assertTrue(bob.receive_nothing())
            self.assertTrue(lobby.receive_nothing())  # the lobby accepts only "rooms"

    def test_a_whisper_to_nobody_is_an_error_for_its_sender(self):
        bob = self.enter(self.bob)
        bob.send("whisper", {"to": "zed", "text": "hello?"})
        self.assertEqual(bob.receive(), ("error", {"message": "no user 'zed'", "event": "whisper"}))

    def test_the_browser_may_send_only_the_keys_a_signal_declares(self):
        bob = self.enter(self.bob)
        with self.assertLogs("clientsignal", "WARNING"):
            bob.send("say", {"text": "hi", "user": "alice"})  # speaking as someone else: no
        error = {"message": "event 'say' does not accept user", "event": "say"}
        self.assertEqual(bob.receive(), ("error", error))


CHROMIUM = os.environ.get("CLIENTSIGNAL_CHROMIUM", "/usr/bin/chromium")


def playwright_or_none():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    return sync_playwright if shutil.which(CHROMIUM) else None


@unittest.skipIf(playwright_or_none() is None, "needs Playwright and Chromium")
class ChatInChromiumTests(SignalLiveServerTestCase):
    """The real page, logged in through Django's login view, against a live server; a
    communicator is another user in the same room."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # Playwright's sync API runs an asyncio loop in this thread; the ORM calls of the
        # test itself are synchronous all the same.
        cls.async_unsafe = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
        cls.playwright = playwright_or_none()().start()
        cls.browser = cls.playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"]
        )

    @classmethod
    def tearDownClass(cls):
        cls.browser.close()
        cls.playwright.stop()
        if cls.async_unsafe is None:
            del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]
        super().tearDownClass()

    def test_a_user_in_the_browser_chats_with_one_in_a_test(self):
        User.objects.create_user("alice", password="pw-alice")
        bob = User.objects.create_user("bob")
        page = self.browser.new_page()
        self.addCleanup(page.close)
        page.goto(self.live_server_url + "/login/?next=/rooms/1/")
        page.fill("#id_username", "alice")
        page.fill("#id_password", "pw-alice")
        page.click("#login")
        page.wait_for_selector("#state:text('connected')", timeout=15000)

        with SignalCommunicator("/chat/1", user=bob) as bob_tab:
            page.wait_for_selector("#online:text('alice, bob')", timeout=15000)
            bob_tab.send("say", {"text": "hello alice"})
            page.wait_for_selector("#log li.message", timeout=15000)
            self.assertEqual(page.inner_text("#log li.message"), "bob: hello alice")

            page.fill("#text", "hello bob")
            page.press("#text", "Enter")
            said = []
            while len(said) < 2:
                event, data = bob_tab.receive(timeout=10)
                if event == "message":
                    said.append("%s: %s" % (data["user"], data["text"]))
            self.assertEqual(said, ["bob: hello alice", "alice: hello bob"])
