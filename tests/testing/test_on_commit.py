"""Messages sent inside a transaction wait for its commit, and django.test.TestCase's own
transaction (which never commits) does not count: a test sends and receives as it would in
production."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import transaction
from django.test import TestCase, TransactionTestCase, override_settings

from clientsignal.testing import SignalCommunicator
from tests.testing import rooms


@override_settings(CLIENTSIGNAL_CONNECTIONS=rooms.CONNECTIONS)
class InATestCase(TestCase):
    def setUp(self) -> None:
        self.alice = User.objects.create_user("alice")

    def test_a_signal_sent_by_the_test_is_delivered_at_once(self) -> None:
        with SignalCommunicator("/rooms/7", user=self.alice) as alice:
            rooms.said.send(sender=None, room_id=7, text="now", by="test")
            self.assertEqual(alice.receive().data["text"], "now")

    def test_one_sent_in_an_atomic_block_waits_for_its_commit(self) -> None:
        with SignalCommunicator("/rooms/7", user=self.alice) as alice:
            with self.captureOnCommitCallbacks(execute=True):
                with transaction.atomic():
                    rooms.said.send(sender=None, room_id=7, text="committed", by="test")
                    self.assertTrue(alice.receive_nothing())
            self.assertEqual(alice.receive().data["text"], "committed")


@override_settings(CLIENTSIGNAL_CONNECTIONS=rooms.CONNECTIONS)
class InATransactionTestCase(TransactionTestCase):
    def test_commit_delivers_and_rollback_does_not(self) -> None:
        alice = User.objects.create_user("alice")
        with SignalCommunicator("/rooms/7", user=alice) as sock:
            try:
                with transaction.atomic():
                    rooms.said.send(sender=None, room_id=7, text="rolled back", by="test")
                    raise RuntimeError
            except RuntimeError:
                pass
            with transaction.atomic():
                rooms.said.send(sender=None, room_id=7, text="kept", by="test")
                self.assertTrue(sock.receive_nothing())
            self.assertEqual(sock.receive().data["text"], "kept")
            self.assertTrue(sock.receive_nothing())
