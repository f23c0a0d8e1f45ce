"""Django-style URLs: "/rooms/<int:room_id>", arguments on the connection, room broadcasts
(``broadcast(..., by=...)``) and ``send_to_url``, on both backends."""

from __future__ import annotations

import random

import pytest

from tests.support.http import request

pytestmark = pytest.mark.redis


def two_rooms():
    return random.sample(range(1, 10**9), 2)


def test_room_broadcast_reaches_that_room_only_on_every_worker(project):
    here, there = two_rooms()
    room, pids = project.open_clients(4, path="/rooms/%d" % here, per_worker=2)
    assert len(pids) == project.workers
    elsewhere, _ = project.open_clients(2, path="/rooms/%d" % there)
    # From a client of the room (its receiver sends the signal), then from the server.
    room[0].send("say", {"text": "hi"})
    hi = {"room_id": here, "text": "hi", "sender": None}
    assert room[0].next_event()["data"] == hi  # said: the next signal comes after it
    project.do("said", room_id=here, text="from the server")
    end = project.end_marker()
    for client in room:
        if client is not room[0]:
            assert client.next_event()["data"] == hi
        assert client.next_event()["data"] == {
            "room_id": here,
            "text": "from the server",
            "sender": None,
        }
        assert client.next_event()["data"]["origin"] == end  # once
    for client in elsewhere:
        assert client.next_event()["data"]["origin"] == end  # not the other room


def test_send_to_url_reaches_the_connections_of_those_arguments(project):
    here, there = two_rooms()
    room, _ = project.open_clients(4, path="/rooms/%d" % here, per_worker=2)
    elsewhere, _ = project.open_clients(2, path="/rooms/%d" % there)
    plain, _ = project.open_clients(1)  # no URL arguments at all
    project.do("url", kwargs={"room_id": here}, text="notice")
    end = project.end_marker()
    for client in room:
        assert client.next_event() == {"event": "notice", "data": {"text": "notice"}}
        assert client.next_event()["data"]["origin"] == end
    for client in elsewhere + plain:
        assert client.next_event()["data"]["origin"] == end


def test_url_arguments_reach_the_connection(project):
    client = project.client("/rooms/42")
    assert client.hello["kwargs"] == {"room_id": 42}
    assert client.hello["path"].startswith("/rooms/42/")
    # Not an int: not a room URL, so Django answers (404), not SockJS.
    assert request("GET", project.url + "/rooms/x/info").status == 404
    assert request("GET", project.url + "/rooms/42/info").status == 200
