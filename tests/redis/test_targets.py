"""Groups, users and single connections, on both backends: in one process, and across two
workers through Redis (where the sender and the receivers are spread over both workers); and
from a separate plain process through Redis."""

from __future__ import annotations

import random

import pytest

from .conftest import by_worker, send_ticks, unique

pytestmark = pytest.mark.redis


def test_group_messages_reach_members_on_every_worker_once(project):
    group = unique("room")
    clients, pids = project.open_clients(8, per_worker=2)
    members, others = by_worker(clients)
    assert {m.hello["pid"] for m in members} == pids == {o.hello["pid"] for o in others}
    for client in members:
        client.send("join", {"group": group})
        assert client.next_event() == {"event": "joined", "data": {"group": group}}
    project.do("group", group=group, text="hello room")
    end = project.end_marker()
    for client in members:
        assert client.next_event() == {"event": "news", "data": {"text": "hello room"}}
        assert client.next_event()["data"]["origin"] == end  # nothing twice
    for client in others:
        assert client.next_event()["data"]["origin"] == end  # nothing for non-members


def test_user_messages_reach_every_tab_of_that_user_only(project):
    user, stranger = random.sample(range(10_000, 10**9), 2)
    tabs, pids = project.open_clients(4, query="as=%d" % user, per_worker=2)
    assert len(pids) == project.workers  # the user's tabs are on every worker
    strangers, _ = project.open_clients(2, query="as=%d" % stranger)
    project.do("user", user=user, text="for you")
    end = project.end_marker()
    for tab in tabs:
        assert tab.next_event() == {"event": "dm", "data": {"text": "for you"}}
        assert tab.next_event()["data"]["origin"] == end
    for client in strangers:
        assert client.next_event()["data"]["origin"] == end


def test_one_connection_by_its_id_on_every_worker(project):
    clients, pids = project.open_clients(4, per_worker=2)
    targets, others = by_worker(clients)
    for target in targets:  # one on each worker
        project.do("connection", id=target.hello["id"], text="only " + target.hello["id"])
    end = project.end_marker()
    for target in targets:
        assert target.next_event() == {
            "event": "dm",
            "data": {"text": "only " + target.hello["id"]},
        }
        assert target.next_event()["data"]["origin"] == end
    for client in others:
        assert client.next_event()["data"]["origin"] == end


def test_a_plain_process_reaches_groups_and_users(redis_only):
    # The same targets from outside any worker: a script with Django loaded and no gevent.
    group, user = unique("room"), random.randrange(10_000, 10**9)
    clients, pids = redis_only.open_clients(4, query="as=%d" % user, per_worker=2)
    members, _ = by_worker(clients)
    for client in members:
        client.send("join", {"group": group})
        assert client.next_event()["event"] == "joined"
    redis_url = redis_only.redis.url
    assert send_ticks(redis_url, "group", group, "hello room").returncode == 0
    assert send_ticks(redis_url, "user", user, "for you").returncode == 0
    end = unique("end")
    assert send_ticks(redis_url, 1, end).returncode == 0
    for client in clients:
        if client in members:
            assert client.next_event() == {"event": "news", "data": {"text": "hello room"}}
        assert client.next_event() == {"event": "dm", "data": {"text": "for you"}}
        assert client.next_event()["data"]["origin"] == end
