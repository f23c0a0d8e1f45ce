"""What a page is told, in the app's own words: the streams of a ``gap`` event named as the
app sends to them (the broadcast, the room, the user, the connection), without the parent
classes that carry nothing, and presence's ``where`` as a structure, with the switch for which
places send ``join``/``leave``. Driven with SignalCommunicator, as an app's tests would."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.test import TestCase, override_settings

from clientsignal import BaseSignalConnection, SignalConnection
from clientsignal.backends.streams import stream_id
from clientsignal.testing import SignalCommunicator
from tests.testing import rooms


class Kept(rooms.RoomConnection):
    """A room with history: ``said`` is registered on its parent, by ``room_id``."""

    history = True


class Lobby(SignalConnection):
    """Presence in the class (a prefix without URL arguments) and in a group."""

    presence = True
    presence_events = True

    def on_open(self, request):
        super().on_open(request)
        if not self.is_closed:
            self.join("lobby")


class RoomsOnly(Lobby):
    presence_events = {"room"}


class GroupsOnly(Lobby):
    presence_events = {"group"}


@override_settings(CLIENTSIGNAL_CONNECTIONS=rooms.CONNECTIONS)
class StreamNames(TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.alice = User.objects.create_user("alice")
        cls.bob = User.objects.create_user("bob")

    def test_a_gap_names_each_stream_as_the_app_sends_to_it(self) -> None:
        alice = SignalCommunicator(Kept, user=self.alice, url_kwargs={"room_id": 7})
        alice.connect()
        alice.disconnect()
        # Every position she has is of a history that is gone (a restart, Redis flushed).
        for stream in alice.positions:
            alice.positions[stream] = "gone:1-0"
        with alice.reconnected() as again:
            event, data = again.receive()
            self.assertEqual(event, "gap")
            named = sorted(
                (s["kind"], s["name"], tuple(sorted(s.get("args", {}).items())))
                for s in data["streams"]
            )
        backend = Kept.get_backend()
        parents = [
            ("broadcast", k.__name__, ())
            for k in (SignalConnection, BaseSignalConnection)
            if k.carries("broadcast")  # broadcast() registered on the parent itself
        ]
        expected = [
            ("broadcast", "Kept", ()),  # what Kept.send_to_all sends
            ("connection", "connection", ()),  # send_to_connection
            ("room", "Kept", (("room_id", 7),)),  # send_to_url, by=
            ("room", "RoomConnection", (("room_id", 7),)),  # its parent's broadcast(by=...)
            ("user", "user", ()),  # send_to_user
        ]
        self.assertEqual(named, sorted(expected + parents))
        # Nothing of the parents that carry nothing: not "RoomConnection" for all rooms (its
        # broadcasts go by room), never BaseSignalConnection (nothing registers on it).
        self.assertNotIn(("broadcast", "RoomConnection", ()), named)
        never = stream_id(backend.channel(BaseSignalConnection.channel_name()))
        self.assertNotIn(never, alice.positions)

    def test_a_parent_that_carries_nothing_still_reaches_the_connection_live(self) -> None:
        with SignalCommunicator(Kept, user=self.alice, url_kwargs={"room_id": 7}) as alice:
            BaseSignalConnection.send_to_all("everyone", {"n": 1})
            self.assertEqual(alice.receive(), ("everyone", {"n": 1}))
            backend = Kept.get_backend()
            never = stream_id(backend.channel(BaseSignalConnection.channel_name()))
            self.assertNotIn(never, alice.positions)  # no position: nothing to replay

    def test_presence_says_where_as_a_structure(self) -> None:
        with SignalCommunicator(Lobby, user=self.bob) as bob:
            with SignalCommunicator(Lobby, user=self.alice):
                joins = sorted(
                    (data["where"]["kind"], data["where"]["name"], data["where"].get("args"))
                    for event, data in (bob.receive(), bob.receive())
                    if event == "join" and data["user"]["username"] == "alice"
                )
            self.assertEqual(joins, [("group", "lobby", None), ("room", "Lobby", {})])
            leaves = sorted(bob.receive()[1]["where"]["kind"] for _ in range(2))
            self.assertEqual(leaves, ["group", "room"])

    def test_presence_events_say_which_places_send_join_and_leave(self) -> None:
        for cls, kind in ((RoomsOnly, "room"), (GroupsOnly, "group")):
            with SignalCommunicator(cls, user=self.bob) as bob:
                with SignalCommunicator(cls, user=self.alice):
                    event, data = bob.receive()
                    self.assertEqual((event, data["where"]["kind"]), ("join", kind), cls)
                    self.assertTrue(bob.receive_nothing())  # not the other kind of place
                event, data = bob.receive()
                self.assertEqual((event, data["where"]["kind"]), ("leave", kind), cls)
                self.assertTrue(bob.receive_nothing())

    def test_presence_events_naming_an_unknown_place_fail_when_the_class_is_made(self) -> None:
        with self.assertRaisesRegex(ValueError, "'rooms'"):
            type("Typo", (SignalConnection,), {"presence": True, "presence_events": {"rooms"}})
        with self.assertRaises(TypeError):
            type("Text", (SignalConnection,), {"presence": True, "presence_events": "room"})
