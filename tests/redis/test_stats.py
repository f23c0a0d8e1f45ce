"""Stats: JSON and Prometheus, from the one worker of the in-process backend, and summed over
two workers through Redis."""

from __future__ import annotations

import json
import time

import pytest

from tests.support.http import request

pytestmark = pytest.mark.redis
TOKEN = {"Authorization": "Bearer stats-token"}


def totals(server):
    reply = request("GET", server.url + "/clientsignal/stats.json", headers=TOKEN)
    assert reply.status == 200, reply.body
    return json.loads(reply.body)


def test_stats_are_summed_over_workers(project):
    socket_server = project.server
    clients, pids = project.open_clients(5)
    assert len(pids) == project.workers
    for client in clients:
        client.send("echo", {"text": "x"})
        assert client.next_event()["event"] == "echo"
    deadline = time.monotonic() + 10
    while True:  # each worker publishes its snapshot every 2 s
        data = totals(socket_server)
        signals = data["services"].get("/signals", {})
        # Exactly these clients (the other tests on this server closed theirs), in snapshots
        # published after their echoes, not between their opening and their echoes.
        if (
            data["processes"] == project.workers
            and signals.get("open", {}).get("websocket") == len(clients)
            and signals.get("messages_in", 0) >= len(clients)
            and signals.get("messages_out", 0) >= 2 * len(clients)
        ):
            break
        assert time.monotonic() < deadline, data
        time.sleep(0.2)
    assert signals["class"] == "TickConnection"
    assert signals["sessions_opened"] >= len(clients)
    assert signals["messages_in"] >= len(clients)
    assert signals["messages_out"] >= 2 * len(clients)  # hello and echo
    states = {"memory": {"in-process": 1}, "redis": {"connected": 2}, "cluster": {"connected": 2}}
    assert data["backend_states"] == states[project.backend]
    kinds = {"memory": "in-process", "redis": "single", "cluster": "cluster"}
    assert data["topology"]["kind"] == kinds[project.backend]
    if project.backend == "cluster":  # three masters, every slot served by one of them
        shards = data["topology"]["shards"]
        assert len(shards) == 3
        assert sorted(low for shard in shards for low, _high in shard["slots"])[0] == 0
        assert sum(high - low + 1 for shard in shards for low, high in shard["slots"]) == 16384
    metrics = request("GET", socket_server.url + "/clientsignal/metrics", headers=TOKEN)
    assert metrics.header("Content-Type").startswith("text/plain; version=0.0.4")
    assert (
        'clientsignal_sessions_open{service="/signals",transport="websocket"} %d' % len(clients)
        in metrics.body
    )
    assert "clientsignal_processes %d" % project.workers in metrics.body


def test_stats_need_staff_or_the_token(redis_only):
    socket_server = redis_only.server
    assert request("GET", socket_server.url + "/clientsignal/stats.json").status == 403
    wrong = {"Authorization": "Bearer nope"}
    assert request("GET", socket_server.url + "/clientsignal/metrics", headers=wrong).status == 403
