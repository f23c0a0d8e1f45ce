"""The ping/pong example's tests: `python manage.py test myapp`, or `pytest` in this folder."""

from django.test import TestCase

from clientsignal.testing import SignalCommunicator


class PingPongTests(TestCase):
    def test_the_page_loads_the_client(self):
        response = self.client.get("/")
        self.assertContains(response, "clientsignal/clientsignal.js")
        self.assertContains(response, "new SignalSocket('/simple'")

    def test_a_ping_pongs_every_open_page(self):
        with SignalCommunicator("/simple") as page1, SignalCommunicator("/simple") as page2:
            page1.send("ping", {"ping": "stringping"})
            for page in (page1, page2):
                self.assertEqual(page.receive(), ("pong", {"pong": "Ponged", "sender": None}))
                self.assertTrue(page.receive_nothing())

    def test_a_ping_carries_only_its_declared_key(self):
        with SignalCommunicator("/simple") as page:
            with self.assertLogs("clientsignal", "WARNING"):
                page.send("ping", {"ping": "x", "pong": "forged"})
            self.assertEqual(
                page.receive(),
                ("error", {"message": "event 'ping' does not accept pong", "event": "ping"}),
            )
