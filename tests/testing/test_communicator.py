"""SignalCommunicator from django.test.TestCase: authentication, authorization, rooms, users,
groups, refusals and failing receivers; on the in-process backend, then all of it on Redis."""

from __future__ import annotations

import time

from django.contrib.auth.models import Permission, User
from django.test import TestCase, override_settings

from clientsignal import send_to_connection, send_to_group
from clientsignal.backends import get_backend
from clientsignal.backends.streams import stream_id
from clientsignal.testing import (
    NothingReceived,
    SignalCommunicator,
    SignalConnectionClosed,
    SignalConnectionRefused,
)
from tests.support.servers import RedisServer
from tests.testing import rooms


def said(text: str, by: str, room_id: int = 7) -> tuple[str, dict]:
    return ("said", {"room_id": room_id, "text": text, "by": by, "sender": None})


@override_settings(CLIENTSIGNAL_CONNECTIONS=rooms.CONNECTIONS)
class CommunicatorTests(TestCase):
    """On the in-process backend (the default)."""

    @classmethod
    def setUpTestData(cls) -> None:
        cls.alice = User.objects.create_user("alice")
        cls.bob = User.objects.create_user("bob")
        cls.carol = User.objects.create_user("carol")
        cls.staff = User.objects.create_user("staff", is_staff=True)
        cls.root = User.objects.create_superuser("root")

    def room(self, user: User | None, room_id: int = 7) -> SignalCommunicator:
        communicator = SignalCommunicator("/rooms/%d" % room_id, user=user)
        connected, code = communicator.connect()
        self.assertTrue(connected, code)
        self.addCleanup(communicator.disconnect)
        return communicator

    # -- who may connect -------------------------------------------------------------------

    def test_login_required_refuses_anonymous_clients(self) -> None:
        communicator = SignalCommunicator("/rooms/7")
        self.assertEqual(communicator.connect(), (False, 4401))
        self.assertEqual(communicator.close_reason, "Login required")
        with self.assertRaises(SignalConnectionRefused) as refused:
            with SignalCommunicator("/rooms/7"):
                pass
        self.assertEqual(refused.exception.code, 4401)

    def test_a_logged_in_user_is_accepted_with_the_url_arguments(self) -> None:
        with SignalCommunicator("/rooms/7", user=self.alice) as alice:
            self.assertEqual(alice.connection.user, self.alice)
            self.assertEqual(alice.connection.kwargs, {"room_id": 7})
            self.assertEqual(alice.connection.transport, "websocket")

    def test_the_test_clients_session_is_the_connections(self) -> None:
        self.client.force_login(self.alice)
        with SignalCommunicator("/rooms/7", client=self.client) as alice:
            self.assertEqual(alice.connection.user, self.alice)
            # Logging out (Django's view, the test client's logout) closes its connections.
            self.client.logout()
            with self.assertRaises(SignalConnectionClosed) as closed:
                alice.receive()
            self.assertEqual((closed.exception.code, closed.exception.reason), (4401, "Logged out"))

    def test_a_password_changed_elsewhere_closes_its_connections(self) -> None:
        with SignalCommunicator("/rooms/7", user=self.alice) as alice:
            with SignalCommunicator("/rooms/7", user=self.bob) as bob:
                self.alice.set_password("changed on another device")
                self.alice.save()
                with self.assertRaises(SignalConnectionClosed) as closed:
                    alice.receive()
                self.assertEqual(
                    (closed.exception.code, closed.exception.reason), (4401, "Session ended")
                )
                self.assertTrue(bob.receive_nothing())  # bob's login is another's

    def test_permission_required(self) -> None:
        self.assertEqual(SignalCommunicator("/reports", user=self.alice).connect(), (False, 4403))
        self.bob.user_permissions.add(Permission.objects.get(codename="view_user"))
        bob = User.objects.get(pk=self.bob.pk)  # permissions are cached on the object
        with SignalCommunicator("/reports", user=bob) as reports:
            self.assertFalse(reports.closed)

    def test_headers_and_query_string_reach_get_user(self) -> None:
        refused = SignalCommunicator("/api", query_string="token=alice")
        self.assertEqual(refused.connect(), (False, 4401))
        with SignalCommunicator(
            "/api", query_string="token=alice", headers={"X-Api-Version": "2"}
        ) as api:
            self.assertEqual(api.connection.user, self.alice)

    @override_settings(CLIENTSIGNAL_ALLOWED_ORIGINS=["testserver"])
    def test_a_page_of_another_site_is_refused(self) -> None:
        with SignalCommunicator("/rooms/7", user=self.alice):  # from the site's own pages
            pass
        communicator = SignalCommunicator(
            "/rooms/7", user=self.alice, origin="https://evil.example"
        )
        self.assertEqual(communicator.connect(), (False, 4403))

    @override_settings(ALLOWED_HOSTS=["testserver"])
    def test_a_host_not_in_allowed_hosts_is_refused(self) -> None:
        """DNS rebinding: a page at evil.example, a name pointed at the server, is its own
        origin; its host is not the site's."""
        with SignalCommunicator("/rooms/7", user=self.alice):
            pass
        communicator = SignalCommunicator(
            "/rooms/7", user=self.alice, host="evil.example", origin="http://evil.example"
        )
        self.assertEqual(communicator.connect(), (False, 4400))
        self.assertEqual(communicator.close_reason, "Host not allowed.")

    def test_a_class_can_be_given_instead_of_a_path(self) -> None:
        with SignalCommunicator(
            rooms.RoomConnection, user=self.alice, url_kwargs={"room_id": 7}
        ) as alice:
            alice.send("say", {"text": "by class"})
            self.assertEqual(alice.receive(), said("by class", "alice"))

    def test_positions_are_kept_as_signalsocket_keeps_them(self) -> None:
        """With ``history``, where the client stands in each stream (given on open, and when
        it joins a group) is kept in ``positions``, never received as an event."""

        class Kept(rooms.RoomConnection):
            history = True

        with SignalCommunicator(Kept, user=self.alice, url_kwargs={"room_id": 7}) as alice:
            backend = Kept.get_backend()
            own = stream_id(backend.target_channel("connection", alice.connection.id))
            self.assertIn(own, alice.positions)
            self.assertTrue(alice.resume_token)
            alice.send("join", {"group": "kept"})
            self.assertEqual(alice.receive(), ("joined", {"user": "alice"}))
            self.assertIn(stream_id(backend.target_channel("group", "kept")), alice.positions)

    def test_a_reconnected_client_gets_what_it_missed_and_keeps_its_connection(self) -> None:
        class Kept(rooms.RoomConnection):
            history = True

        alice = SignalCommunicator(Kept, user=self.alice, url_kwargs={"room_id": 7})
        alice.connect()
        connection_id = alice.connection.id
        alice.disconnect()  # her network went
        send_to_connection(connection_id, "note", {"n": 1})
        rooms.said.send(sender=None, room_id=7, text="meanwhile", by="bob")
        with alice.reconnected() as again:
            self.assertEqual(again.connection.id, connection_id)
            received = sorted([again.receive(), again.receive()])
            self.assertEqual(received, sorted([("note", {"n": 1}), said("meanwhile", "bob")]))
            self.assertTrue(again.receive_nothing())

    def test_an_unknown_path_says_which_prefixes_there_are(self) -> None:
        with self.assertRaisesRegex(LookupError, "/rooms/<int:room_id>"):
            SignalCommunicator("/nowhere")

    # -- authorization per event -----------------------------------------------------------

    def test_allow_refuses_an_event_to_some_users(self) -> None:
        with SignalCommunicator("/moderated", user=self.alice) as alice:
            alice.send("reset")
            event, data = alice.receive()
            self.assertEqual(event, "error")
            self.assertEqual(data["event"], "reset")
            self.assertIn("not allowed", data["message"])
        with SignalCommunicator("/moderated", user=self.root) as root:
            root.send("reset")
            self.assertEqual(root.receive(), ("reset done", {"by": "root"}))

    def test_accepts_filters_what_a_connection_receives(self) -> None:
        with (
            SignalCommunicator("/moderated", user=self.alice) as alice,
            SignalCommunicator("/moderated", user=self.staff) as staff,
        ):
            rooms.audit.send(sender=None, text="for staff")
            rooms.notice.send(sender=None, text="for everyone")
            self.assertEqual(staff.receive(), ("audit", {"text": "for staff", "sender": None}))
            self.assertEqual(staff.receive(), ("notice", {"text": "for everyone", "sender": None}))
            self.assertEqual(alice.receive(), ("notice", {"text": "for everyone", "sender": None}))
            self.assertTrue(alice.receive_nothing())

    # -- who receives what -----------------------------------------------------------------

    def test_a_room_broadcast_reaches_that_room_only(self) -> None:
        alice, bob, carol = self.room(self.alice), self.room(self.bob), self.room(self.carol, 8)
        alice.send("say", {"text": "hello room 7"})
        self.assertEqual(alice.receive(), said("hello room 7", "alice"))
        self.assertEqual(bob.receive(), said("hello room 7", "alice"))
        self.assertTrue(carol.receive_nothing())
        # A signal sent by server code (a view, a task) reaches the room the same way.
        rooms.said.send(sender=None, room_id=8, text="from the server", by="system")
        self.assertEqual(carol.receive(), said("from the server", "system", room_id=8))
        self.assertTrue(alice.receive_nothing() and bob.receive_nothing())

    def test_send_to_user_reaches_every_tab_of_that_user_only(self) -> None:
        tab1, tab2 = self.room(self.alice), self.room(self.alice, 8)
        bob = self.room(self.bob)
        bob.send("whisper", {"to": "alice", "text": "psst"})
        for tab in (tab1, tab2):
            self.assertEqual(tab.receive(), ("whisper", {"from": "bob", "text": "psst"}))
        self.assertTrue(bob.receive_nothing())

    def test_group_messages_reach_members_only(self) -> None:
        alice, bob, carol = self.room(self.alice), self.room(self.bob), self.room(self.carol)
        alice.send("join", {"group": "cooks"})
        self.assertEqual(alice.receive(), ("joined", {"user": "alice"}))
        bob.send("join", {"group": "cooks"})
        for member in (alice, bob):
            self.assertEqual(member.receive(), ("joined", {"user": "bob"}))
        send_to_group("cooks", "dinner", {"at": "7pm"})
        for member in (alice, bob):
            self.assertEqual(member.receive(), ("dinner", {"at": "7pm"}))
        self.assertTrue(carol.receive_nothing())

    # -- refusals and failures -------------------------------------------------------------

    def test_an_undeclared_key_gets_an_error_event_and_the_connection_stays_open(self) -> None:
        alice = self.room(self.alice)
        # Logged in this test and in the same test on Redis: each communicator starts a new
        # episode of the refusal log, which production keeps to one line per episode.
        with self.assertLogs("clientsignal", "WARNING") as logs:
            alice.send("say", {"text": "hi", "colour": "red"})
        self.assertIn("event 'say' does not accept colour", logs.output[0])
        self.assertEqual(
            alice.receive(),
            ("error", {"message": "event 'say' does not accept colour", "event": "say"}),
        )
        with self.assertNoLogs("clientsignal", "WARNING"):  # the same episode
            alice.send("nonsense", {})
        self.assertEqual(alice.receive().data["message"], "unknown event 'nonsense'")
        alice.send("say", {"text": "still here"})
        self.assertEqual(alice.receive(), said("still here", "alice"))

    def test_a_failing_receiver_is_logged_and_the_connection_goes_on(self) -> None:
        alice = self.room(self.alice)
        with self.assertLogs(level="ERROR") as logs:  # every logger: one traceback in all
            alice.send("boom")
        self.assertEqual([r.name for r in logs.records if r.exc_info], ["clientsignal"])
        self.assertEqual(len(logs.output), 1)
        self.assertIn("receiver", logs.output[0])
        self.assertIn("ValueError: a bug in a receiver", logs.output[0])
        self.assertEqual(
            alice.receive(),
            ("error", {"message": "internal error handling 'boom'", "event": "boom"}),
        )
        alice.send("say", {"text": "after the bug"})
        self.assertEqual(alice.receive(), said("after the bug", "alice"))

    def test_receive_waits_then_says_nothing_came(self) -> None:
        alice = self.room(self.alice)
        started = time.monotonic()
        with self.assertRaisesRegex(NothingReceived, "no event within 0.20 s"):
            alice.receive(timeout=0.2)
        self.assertGreaterEqual(time.monotonic() - started, 0.2)

    def test_disconnect_runs_on_close(self) -> None:
        rooms.RoomConnection.closed.clear()
        with SignalCommunicator("/rooms/7", user=self.alice):
            self.assertEqual(rooms.RoomConnection.closed, [])
        self.assertEqual(rooms.RoomConnection.closed, ["alice"])


class CommunicatorOnRedisTests(CommunicatorTests):
    """Every test above again, with ``CLIENTSIGNAL_BACKEND`` a private redis-server: each
    message goes through Redis and comes back through the backend's subscriber."""

    redis: RedisServer

    @classmethod
    def setUpClass(cls) -> None:
        cls.redis = RedisServer().start()
        cls.addClassCleanup(cls.redis.stop)
        settings = override_settings(CLIENTSIGNAL_BACKEND=cls.redis.url)
        settings.enable()
        cls.addClassCleanup(settings.disable)
        super().setUpClass()

    def tearDown(self) -> None:
        backend = get_backend(self.redis.url)
        # What the tests received came through Redis, not a shortcut in this process.
        self.assertEqual(backend.stats["received"], backend.stats["published"])
        super().tearDown()


@override_settings(CLIENTSIGNAL_CONNECTIONS=rooms.CONNECTIONS)
class UnixSocketBackendTests(TestCase):
    """``unix://``: the publisher and the subscriber reach Redis through its socket."""

    def test_a_unix_socket_backend_delivers_through_redis(self) -> None:
        alice = User.objects.create_user("alice")
        with RedisServer() as redis, override_settings(CLIENTSIGNAL_BACKEND=redis.unix_url):
            with SignalCommunicator("/rooms/7", user=alice) as page:
                page.send("join", {"group": "g"})  # its receiver sends to the group
                self.assertEqual(page.receive(), ("joined", {"user": "alice"}))
            backend = get_backend(redis.unix_url)
            self.assertGreaterEqual(backend.stats["received"], 1)


@override_settings(CLIENTSIGNAL_CONNECTIONS=rooms.CONNECTIONS)
class LostWritesTests(TestCase):
    """Redis loses writes it had delivered (a restart from an older snapshot here; a failover
    to a replica they had not reached does the same): every client is told, never silence."""

    def test_a_client_whose_position_is_before_the_lost_writes_gets_a_gap(self) -> None:
        class Kept(rooms.RoomConnection):
            history = True

        alice = User.objects.create_user("alice")
        with RedisServer() as redis, override_settings(CLIENTSIGNAL_BACKEND=redis.url):
            kwargs = {"room_id": 7}
            with SignalCommunicator(Kept, user=alice, url_kwargs=kwargs) as watcher:
                away = SignalCommunicator(Kept, user=alice, url_kwargs=kwargs)
                away.connect()
                rooms.said.send(sender=None, room_id=7, text="kept", by="bob")
                self.assertEqual(watcher.receive(), said("kept", "bob"))
                self.assertEqual(away.receive(), said("kept", "bob"))
                get_backend(redis.url).client.save()  # the snapshot Redis restarts from
                away.disconnect()  # its position: "kept"
                rooms.said.send(sender=None, room_id=7, text="lost", by="bob")
                self.assertEqual(watcher.receive(), said("lost", "bob"))
                redis.kill()
                redis.restart()  # without "lost"
                self.assertEqual(watcher.receive(timeout=30)[0], "gap")
                with away.reconnected() as again:
                    self.assertEqual(again.receive(timeout=10)[0], "gap")
