"""Presence across two workers: who is here from any process, join and leave events to the
others, and a SIGKILLed worker's connections gone within the documented bound."""

from __future__ import annotations

import json
import os
import signal
import time

import pytest

from clientsignal.backends.presence import REFRESH, TTL
from tests.support.servers import wait_for
from tests.support.sockjs import SignalClient

from .conftest import send_ticks

pytestmark = pytest.mark.redis


def present(redis_url):
    result = send_ticks(redis_url, "presence")
    assert result.returncode == 0, result.stderr
    return {
        p["user"]["username"]: p["connections"] for p in json.loads(result.stdout.splitlines()[0])
    }


def connect(server, user):
    client = SignalClient(server.url + "/present", query="as=%d" % user, background=True)
    hello = client.next_event()
    assert hello["event"] == "hello"
    return client, hello["data"]["pid"]


def test_who_is_here_across_workers_and_joins_and_leaves(socket_server, redis_server):
    watcher, _ = connect(socket_server, 1)
    clients, pids = [], set()
    while len(pids) < 2 or len(clients) < 3:  # user 2's tabs on both workers
        client, pid = connect(socket_server, 2)
        clients.append(client)
        pids.add(pid)
        assert len(clients) < 20, "every connection landed on one worker"
    assert present(redis_server.url) == {"user1": 1, "user2": len(clients)}
    joined = watcher.next_event()
    assert joined["event"] == "join" and joined["data"]["user"] is not None
    for client in clients:
        client.close()
    left = watcher.next_event()
    while left["event"] != "leave":
        left = watcher.next_event()
    # Where, as the app names it: the class (its prefix has no URL arguments).
    assert left["data"]["where"] == {"kind": "room", "name": "PresenceConnection", "args": {}}
    wait_for(lambda: present(redis_server.url) == {"user1": 1}, 10, "user 2 gone")
    watcher.close()


@pytest.mark.timeout(90)
def test_a_killed_workers_connections_vanish_within_the_bound(socket_server, redis_server):
    clients, by_pid = [], {}
    while len(by_pid) < 2:
        client, pid = connect(socket_server, 10 + len(clients))
        clients.append(client)
        by_pid.setdefault(pid, []).append(len(clients) - 1)
    victim, survivor = sorted(by_pid, key=lambda pid: len(by_pid[pid]))
    gone = {"user%d" % (10 + i) for i in by_pid[victim]}
    assert set(present(redis_server.url)) >= gone
    # A watcher on the surviving worker: it hears every user of the killed worker leave.
    watcher = clients[by_pid[survivor][0]]
    watcher.pending.clear()
    os.kill(victim, signal.SIGKILL)  # no close handler runs there
    killed = time.monotonic()
    wait_for(lambda: not gone & set(present(redis_server.url)), TTL + REFRESH + 5, "vanished")
    assert time.monotonic() - killed <= TTL + REFRESH  # the documented bound, with one refresh
    assert {"user%d" % (10 + i) for i in by_pid[survivor]} <= set(present(redis_server.url))
    left = {}
    while set(left) < gone:
        try:
            event = watcher.next_event(timeout=TTL + REFRESH + 1 - (time.monotonic() - killed))
        except TimeoutError:
            raise AssertionError(
                "leave events heard: %s; never heard for %s"
                % (sorted(left), sorted(gone - set(left)))
            ) from None
        if event["event"] == "leave":
            assert event["data"]["where"]["kind"] == "room"  # as their own connection says it
            left.setdefault(event["data"]["user"]["username"], time.monotonic() - killed)
    assert set(left) == gone  # only the killed worker's users left
    assert max(left.values()) <= TTL + REFRESH  # the documented bound
    print("leave events %.1f-%.1f s after SIGKILL" % (min(left.values()), max(left.values())))
