"""Redis goes away and comes back: sockets stay open, delivery resumes without a restart."""

from __future__ import annotations

import pytest

from tests.support.servers import wait_for

from .conftest import open_clients, send_ticks

pytestmark = pytest.mark.redis


@pytest.mark.timeout(90)
def test_outage_and_recovery(socket_server, redis_server):
    # On both workers, reading all the time as browsers do (open_clients' default), so they
    # answer the server's pings while the test waits for the sender and for Redis.
    clients, _ = open_clients(socket_server, 4)
    assert send_ticks(redis_server.url, 1, "before").returncode == 0
    for client in clients:
        assert client.next_event()["data"]["origin"] == "before"

    redis_server.kill()
    failed = send_ticks(redis_server.url, 2, "during")
    assert failed.returncode == 0, failed.stderr  # the sender does not crash
    assert "published=0 errors=2" in failed.stdout
    # One line for the state change, not one per failed publish.
    assert failed.stderr.count("is unreachable") == 1, failed.stderr
    for client in clients:
        client.wait_heartbeat(timeout=5)  # still open
        client.send("echo", {"text": "alive"})
        assert client.next_event() == {"event": "echo", "data": {"text": "alive"}}

    redis_server.start()
    # Each worker's subscriber reconnects with backoff and says so once.
    log = wait_for(lambda: _reconnected(socket_server.log_text()), 30, "both subscribers")
    assert log.count("is unreachable") == 2  # once per worker, not once per retry
    assert send_ticks(redis_server.url, 1, "after").returncode == 0
    for client in clients:
        # Nothing published during the outage arrives; the first event is the new one.
        assert client.next_event()["data"]["origin"] == "after"


def _reconnected(log):
    return log if log.count("answers again") >= 2 else None
