"""Broadcasts across processes: from a worker (on both backends), and from a separate plain
process through Redis to two workers."""

from __future__ import annotations

import pytest

from .conftest import send_ticks, unique

pytestmark = pytest.mark.redis


def test_every_client_gets_every_event_once_in_order(redis_only):
    clients, pids = redis_only.open_clients(8)
    assert len(pids) == 2
    redis_server = redis_only.redis
    result = send_ticks(redis_server.url, 50, "plain-process")
    assert result.returncode == 0, result.stderr
    assert "published=50 errors=0" in result.stdout
    assert send_ticks(redis_server.url, 1, "end").returncode == 0
    for client in clients:
        got = [client.next_event() for _ in range(50)]
        assert [e["data"]["n"] for e in got] == list(range(50))
        assert {e["event"] for e in got} == {"tick"}
        assert {e["data"]["origin"] for e in got} == {"plain-process"}
        # Nothing twice: the next event is the one sent after the fifty.
        assert client.next_event()["data"]["origin"] == "end"
        client.close()


def test_a_broadcast_from_a_worker_reaches_every_client_once_in_order(project):
    clients, pids = project.open_clients(6, per_worker=2)
    origin, end = unique("ticks"), unique("end")
    project.do("tick", count=20, origin=origin)
    project.do("tick", origin=end)
    for client in clients:
        got = [client.next_event() for _ in range(20)]
        assert [(e["event"], e["data"]["n"], e["data"]["origin"]) for e in got] == [
            ("tick", n, origin) for n in range(20)
        ]
        assert client.next_event()["data"]["origin"] == end
