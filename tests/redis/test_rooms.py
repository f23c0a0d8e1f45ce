"""Django-style URLs: "/rooms/<int:room_id>", arguments on the connection, room broadcasts."""

from __future__ import annotations

import pytest

from tests.support.http import request
from tests.support.sockjs import SignalClient

from .conftest import open_clients, send_ticks

pytestmark = pytest.mark.redis


def test_room_broadcast_reaches_that_room_only_on_every_worker(socket_server, redis_server):
    room7, pids = open_clients(socket_server, 4, path="/rooms/7")
    assert len(pids) == 2
    room8, _ = open_clients(socket_server, 2, path="/rooms/8")
    room7[0].send("say", {"text": "hi seven"})
    assert send_ticks(redis_server.url, 1, "end").returncode == 0
    for client in room7:
        assert client.next_event()["data"] == {"room_id": 7, "text": "hi seven", "sender": None}
        assert client.next_event()["data"]["origin"] == "end"  # once
    for client in room8:
        assert client.next_event()["data"]["origin"] == "end"  # not room 8


def test_url_arguments_reach_the_connection(socket_server):
    client = SignalClient(socket_server.url + "/rooms/42")
    assert client.next_event()["data"]["kwargs"] == {"room_id": 42}
    # Not an int: not a room URL, so Django answers (404), not SockJS.
    assert request("GET", socket_server.url + "/rooms/x/info").status == 404
    assert request("GET", socket_server.url + "/rooms/42/info").status == 200
