"""The same kind of tests in pytest's style, with clientsignal's fixtures (pytest only:
`manage.py test` runs myapp/tests.py)."""

import json
import urllib.request


def test_a_ping_pongs_every_open_page(signal_communicator):
    page1 = signal_communicator("/simple")
    page2 = signal_communicator("/simple")
    assert page1.connect().connected and page2.connect().connected
    page1.send("ping", {"ping": "stringping"})
    for page in (page1, page2):
        assert page.receive() == ("pong", {"pong": "Ponged", "sender": None})


def test_a_logged_in_user_is_the_connections(signal_communicator, django_user_model):
    alice = django_user_model.objects.create_user("alice")
    page = signal_communicator("/simple", user=alice)
    assert page.connect().connected
    assert page.connection.user == alice


def test_the_live_server_serves_the_page_and_its_socket(signal_live_server):
    with urllib.request.urlopen(signal_live_server.url + "/", timeout=10) as response:
        assert b"new SignalSocket('/simple'" in response.read()
    with urllib.request.urlopen(signal_live_server.url + "/simple/info", timeout=10) as response:
        assert json.load(response)["websocket"] is True
