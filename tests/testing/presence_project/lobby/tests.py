import os

from django.contrib.auth.models import User
from django.test import TestCase, override_settings

from clientsignal.testing import SignalCommunicator

from .connections import LobbyConnection

REDIS = os.environ["LOBBY_REDIS_URL"]  # "redis://localhost:6379/15" in docs/testing.md


class LobbyTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.alice = User.objects.create_user("alice")
        cls.bob = User.objects.create_user("bob")

    def test_the_others_hear_who_joins(self):
        with SignalCommunicator("/lobby/1", user=self.alice) as alice:
            with SignalCommunicator("/lobby/1", user=self.bob) as bob:
                self.assertEqual(alice.receive().event, "join")
                self.assertEqual(alice.receive_nothing(), True)
                self.assertEqual(bob.receive_nothing(), True)

    def test_the_others_hear_who_leaves(self):
        with SignalCommunicator("/lobby/1", user=self.alice) as alice:
            with SignalCommunicator("/lobby/1", user=self.bob):
                self.assertEqual(alice.receive().data["user"]["username"], "bob")
            event, data = alice.receive()
            self.assertEqual((event, data["user"]["username"]), ("leave", "bob"))

    def test_who_is_present(self):
        with SignalCommunicator("/lobby/1", user=self.alice), \
             SignalCommunicator("/lobby/1", user=self.alice):
            self.assertEqual(
                LobbyConnection.present(room_id=1),
                [{"user": {"id": self.alice.pk, "username": "alice"}, "connections": 2}],
            )

    def test_what_is_said_reaches_the_room(self):
        with SignalCommunicator("/lobby/1", user=self.bob) as bob, \
             SignalCommunicator("/lobby/1", user=self.alice) as alice:
            alice.send("say", {"text": "hi"})
            said = ("said", {"room_id": 1, "user": "alice", "text": "hi", "sender": None})
            self.assertEqual(alice.receive(), said)
            self.assertEqual(bob.receive().event, "join")
            self.assertEqual(bob.receive(), said)


@override_settings(CLIENTSIGNAL_BACKEND=REDIS)
class LobbyOnRedisTests(LobbyTests):
    pass
