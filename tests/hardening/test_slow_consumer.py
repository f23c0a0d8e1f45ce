"""A client that never reads: the worker's memory stays bounded and others keep working."""

from __future__ import annotations

import re
import uuid

import pytest
import websocket

from tests.support.servers import GunicornServer, wait_for


def rss_kb(pid: int) -> int:
    with open("/proc/%d/status" % pid) as status:
        return int(re.search(r"VmRSS:\s+(\d+) kB", status.read()).group(1))


@pytest.fixture
def echo_one_worker():
    with GunicornServer("clientsignal.echo:application", workers=1) as server:
        yield server


@pytest.mark.timeout(120)
def test_non_reading_client_is_closed_and_memory_stays_bounded(echo_one_worker):
    server = echo_one_worker
    pid = int(re.search(r"Booting worker with pid: (\d+)", server.log_text()).group(1))
    url = "ws://127.0.0.1:%d/echo/000/%s/websocket" % (server.port, uuid.uuid4())
    greedy = websocket.create_connection(url, timeout=10)
    # Not a tiny SO_RCVBUF: with the server's answers stuck in flight, the client's own data
    # then stalls in TCP and never reaches the server, which is safe but shows nothing.
    assert greedy.recv() == "o"
    before = rss_kb(pid)
    message = '["' + "x" * 1000 + '"]'
    try:
        for _ in range(30000):  # 30 MB echoed to a client that reads none of it
            greedy.send(message)
    except (ConnectionResetError, BrokenPipeError):
        pass  # the server closed the connection: the point of this test
    wait_for(lambda: "Client too slow" in server.log_text(), 30, "the slow consumer closed")
    growth_mb = (rss_kb(pid) - before) / 1024
    assert growth_mb < 25, "worker grew %.1f MB" % growth_mb
    # Everyone else is served as before.
    other = websocket.create_connection(url.replace("/000/", "/001/"), timeout=10)
    assert other.recv() == "o"
    other.send('["still fine"]')
    assert other.recv() == 'a["still fine"]'
    other.close()
    greedy.sock.close()
