"""Groups and users across processes: two workers, a separate process sends."""

from __future__ import annotations

import pytest

from .conftest import open_clients, send_ticks

pytestmark = pytest.mark.redis


def test_group_messages_reach_members_on_every_worker_once(socket_server, redis_server):
    clients, pids = open_clients(socket_server, 6)
    members, others = clients[::2], clients[1::2]
    for client in members:
        client.send("join", {"group": "room-7"})
        assert client.next_event() == {"event": "joined", "data": {"group": "room-7"}}
    assert send_ticks(redis_server.url, "group", "room-7", "hello room").returncode == 0
    assert send_ticks(redis_server.url, 1, "end").returncode == 0
    for client in members:
        assert client.next_event() == {"event": "news", "data": {"text": "hello room"}}
        assert client.next_event()["data"]["origin"] == "end"  # nothing twice
    for client in others:
        assert client.next_event()["data"]["origin"] == "end"  # nothing for non-members


def test_user_messages_reach_every_tab_of_that_user_only(socket_server, redis_server):
    tabs, pids = open_clients(socket_server, 4, query="as=7")
    assert len(pids) == 2  # the user's tabs are on both workers
    strangers, _ = open_clients(socket_server, 2, query="as=8")
    assert send_ticks(redis_server.url, "user", 7, "for seven").returncode == 0
    assert send_ticks(redis_server.url, 1, "end").returncode == 0
    for tab in tabs:
        assert tab.next_event() == {"event": "dm", "data": {"text": "for seven"}}
        assert tab.next_event()["data"]["origin"] == "end"
    for client in strangers:
        assert client.next_event()["data"]["origin"] == "end"
