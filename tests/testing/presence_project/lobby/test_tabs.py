import os

from django.contrib.auth.models import User
from django.test import TestCase, override_settings

from clientsignal.testing import SignalCommunicator


@override_settings(CLIENTSIGNAL_BACKEND=os.environ["LOBBY_REDIS_URL"])
class TabsOnRedisTests(TestCase):
    """A user's second tab is not a second arrival; their last tab's going is a departure."""

    @classmethod
    def setUpTestData(cls):
        cls.alice = User.objects.create_user("alice")
        cls.bob = User.objects.create_user("bob")

    def test_a_second_tab_is_not_a_join(self):
        with SignalCommunicator("/lobby/1", user=self.bob) as bob:
            with SignalCommunicator("/lobby/1", user=self.alice):
                self.assertEqual(bob.receive().data["user"]["username"], "alice")
                with SignalCommunicator("/lobby/1", user=self.alice):
                    self.assertEqual(bob.receive_nothing(), True)

    def test_the_last_tab_closed_is_a_leave(self):
        with SignalCommunicator("/lobby/1", user=self.bob) as bob:
            first = SignalCommunicator("/lobby/1", user=self.alice)
            first.connect()
            with SignalCommunicator("/lobby/1", user=self.alice):
                self.assertEqual(bob.receive().event, "join")
            first.disconnect()
            self.assertEqual(bob.receive().event, "leave")
