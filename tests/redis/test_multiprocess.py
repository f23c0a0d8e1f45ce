"""Signals across processes: gunicorn with two workers, a separate process sends."""

from __future__ import annotations

import pytest

from .conftest import open_clients, send_ticks

pytestmark = pytest.mark.redis


def test_every_client_gets_every_event_once_in_order(socket_server, redis_server):
    clients, pids = open_clients(socket_server, 8)
    assert len(pids) == 2
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
