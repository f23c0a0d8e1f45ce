"""One client cannot fill a worker's connection pool: thousands of TCP connections from one
address that never send a request (half-open, as far as HTTP goes). The per-address limits of
the SockJS services count sessions, which need a request head; this one counts connections
as they are accepted, before anything is read. Another client (127.0.0.3; 127.0.0.1 is a
trusted proxy, whose connections carry many clients and are not counted) is served at once
and the worker's memory stays bounded. The pool is lowered to 2,000 and the limit set to 500
(``--worker-connections``, ``CLIENTSIGNAL_MAX_CONNECTIONS_PER_ADDRESS``): the same attack on
the defaults takes 11,000 connections and a limit of 1,100. The figures are printed
(``pytest -s``)."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator

import pytest

from tests.support.servers import GunicornServer, wait_for

from .wire import (
    RawWebSocket,
    RssSampler,
    connect,
    http_request,
    rss_kib,
    session_path,
    worker_pids,
)

ATTACKER = "127.0.0.2"
OTHER = "127.0.0.3"
POOL = 2000
LIMIT = 500
FLOOD = 3000
HEADER_TIMEOUT = 5


@pytest.fixture(scope="module")
def server(start) -> Iterator[GunicornServer]:
    with start(
        workers=1,
        header_timeout=str(HEADER_TIMEOUT),
        max_connections_per_address=LIMIT,
        extra_args=("--worker-connections", str(POOL)),
    ) as server:
        yield server


def page_time(port: int, source: str, timeout: float = 15) -> float:
    reply = http_request(port, "GET", "/page/", timeout=timeout, source=source)
    assert reply.status == 200, reply
    return reply.seconds


def open_time(port: int, source: str, timeout: float = 15) -> float:
    """Seconds from connecting to a websocket's open frame."""
    started = time.monotonic()
    ws = RawWebSocket.open(port, session_path("/open"), source=source, timeout=timeout)
    assert ws.recv_text() == "o"
    ws.close()
    return time.monotonic() - started


class Replies:
    """What the server sent on each of some sockets, read as it comes, and which it closed."""

    def __init__(self, socks: list[socket.socket]) -> None:
        self.data = {sock: b"" for sock in socks}
        self.closed: set[socket.socket] = set()
        for sock in socks:
            sock.setblocking(False)

    def read(self) -> Replies:
        for sock in self.data:
            if sock in self.closed:
                continue
            try:
                while chunk := sock.recv(65536):
                    self.data[sock] += chunk
                self.closed.add(sock)
            except BlockingIOError:
                pass
            except OSError:
                self.closed.add(sock)
        return self

    def closed_with(self, head: bytes) -> int:
        """How many the server answered with ``head`` and closed."""
        return sum(self.data[sock].startswith(head) for sock in self.closed)

    def still_open(self) -> list[socket.socket]:
        return [sock for sock in self.data if sock not in self.closed]


@pytest.mark.timeout(120)
def test_a_flood_of_silent_connections_from_one_address(server) -> None:
    port = server.port
    (pid,) = worker_pids(server.proc.pid)
    page_time(port, OTHER)  # what a worker sets up at its first requests, before measuring
    open_time(port, OTHER)
    sampler = RssSampler(pid)
    started = time.monotonic()
    flood = [connect(port, source=ATTACKER) for _ in range(FLOOD)]
    opened = time.monotonic() - started
    # Another client, queued in the listen backlog behind the whole flood: once it is served,
    # every connection of the flood has been accepted or refused (the backlog is in order).
    page = page_time(port, OTHER)
    websocket = open_time(port, OTHER)
    replies = Replies(flood).read()
    refused = replies.closed_with(b"HTTP/1.1 429 Too Many Requests\r\n")
    held = replies.still_open()
    peak, growth = sampler.stop()
    per_connection = growth / max(1, len(held))
    figures = (
        "%d connections from one address opened in %.2f s (pool %d, limit %d): %d refused "
        "with 429 at once, %d held; another client's page in %.0f ms and websocket open frame "
        "in %.0f ms; the worker's RSS +%.1f MiB (peak +%.1f MiB), %.1f KiB per held connection"
        % (FLOOD, opened, POOL, LIMIT, refused, len(held), page * 1000, websocket * 1000,
           growth / 1024, peak / 1024, per_connection)
    )  # fmt: skip
    print("\n" + figures)
    assert page < 1 and websocket < 1, figures
    assert (refused, len(held)) == (FLOOD - LIMIT, LIMIT), figures
    assert growth < LIMIT * 64, figures  # KiB: what the held ones cost, nothing for the others
    # The held ones never send a head: the header timeout answers them 408 and closes them.
    timed_out = time.monotonic()
    wait_for(
        lambda: replies.read().closed_with(b"HTTP/1.1 408 Request Timeout\r\n") == LIMIT,
        HEADER_TIMEOUT + 5,
        "the held connections to time out",
    )
    print("the %d held ones answered 408 and closed %.1f s later, RSS now +%.1f MiB" % (
        LIMIT, time.monotonic() - timed_out, (rss_kib(pid) - sampler.before) / 1024))  # fmt: skip
    for sock in flood:
        sock.close()
    # The address's places came back; refusals were counted and logged once.
    assert page_time(port, ATTACKER) < 1
    stats = http_request(
        port, "GET", "/clientsignal/stats.json", headers={"Authorization": "Bearer stats-token"}
    )
    connections = json.loads(stats.body)["connections"]
    assert connections["refused_per_address"] == FLOOD - LIMIT, connections
    assert connections["header_timeouts"] >= LIMIT, connections
    log = server.log_text()
    assert log.count("(CLIENTSIGNAL_MAX_CONNECTIONS_PER_ADDRESS): refusing more") == 1, log[-2000:]


@pytest.mark.timeout(60)
def test_a_trusted_proxy_is_not_limited(server) -> None:
    """Behind a reverse proxy on the same machine, every client comes from 127.0.0.1: its
    connections are not counted (the proxy limits its own clients; the services' limits
    count them by X-Forwarded-For once a request head has come)."""
    port = server.port
    held = [connect(port, source="127.0.0.1") for _ in range(LIMIT + 100)]
    try:
        page_time(port, OTHER)  # every one of them accepted by now
        assert Replies(held).read().closed == set()
    finally:
        for sock in held:
            sock.close()
