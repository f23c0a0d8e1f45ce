"""A history class's memory with anonymous clients that come and go, through the real open
path (xhr-polling sessions of the SockJS core, the in-process backend): what a connection
leaves behind when nothing was sent to it, and, when something was, how much of that may
remain per client address and in all."""

from __future__ import annotations

import gc
import time
from pathlib import Path

import pytest

from clientsignal import SignalConnection
from clientsignal.backends.streams import RETAINED_PER_ADDRESS, Retired
from clientsignal.sockjs_protocol import Request, SockJSServer

CONNECTIONS = 30_000


def rss() -> int:
    """This process's resident set size, in bytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise LookupError("VmRSS")


def come_and_go(server: SockJSServer, count: int, first: int = 0, addresses: int = 1) -> None:
    """``count`` anonymous clients, each opening an xhr-polling session (its first poll gets
    the open frame), then going away: its session expires as the server's reaper expires
    one whose client stopped polling (``disconnect_delay`` later). ``addresses``: how many
    client addresses they come from, in turn."""
    for n in range(first, first + count):
        now = n * 0.001
        request = Request(
            "POST",
            "/0/s%d/xhr" % n,
            prefix="/signals",
            remote_addr="10.9.%d.%d" % (n % addresses // 250, n % addresses % 250),
            date=time.time(),
        )
        opened = server.handle(request, now)
        assert opened.receiver.pull(now).chunks == [b"o\n"]
        server.store.expire(now + server.options.disconnect_delay + 1)
    assert len(server.store) == 0


def kept_streams(cls) -> int:
    return len(cls.get_backend().streams)


@pytest.mark.timeout(120)
def test_anonymous_clients_that_come_and_go_leave_nothing_behind() -> None:
    class Room(SignalConnection):
        history = {"size": 100, "ttl": 600}

    server = SockJSServer(Room)
    come_and_go(server, 2000)  # warm-up: caches, arenas
    gc.collect()
    before, started = rss(), time.monotonic()
    come_and_go(server, CONNECTIONS, first=2000)
    gc.collect()
    grown = rss() - before
    print(
        "\n%d anonymous open/close of a history class in %.1f s: RSS %+.1f MB (%.2f KB per "
        "connection), %d streams kept"
        % (
            CONNECTIONS,
            time.monotonic() - started,
            grown / 1e6,
            grown / CONNECTIONS / 1024,
            kept_streams(Room),
        )
    )
    assert kept_streams(Room) <= 1  # the class's broadcast stream at most
    assert grown < 5e6


class Welcomed(SignalConnection):
    """Something is sent to each connection as it opens: its own stream is made, and kept
    once it has gone (for its client's return), within bounds."""

    history = {"size": 100, "ttl": 600}

    def on_open(self, request):
        super().on_open(request)
        self.send_to("connection", self.id, "welcome", {})


@pytest.mark.timeout(60)
def test_what_connections_that_were_sent_something_leave_is_bounded_per_address() -> None:
    server = SockJSServer(Welcomed)
    come_and_go(server, 1000)
    assert kept_streams(Welcomed) == RETAINED_PER_ADDRESS


@pytest.mark.timeout(60)
def test_what_connections_that_were_sent_something_leave_is_bounded_in_all() -> None:
    """(Here a process keeps 500, not RETAINED, to be quick.)"""
    server = SockJSServer(Welcomed)
    Welcomed.get_backend().streams.retired = Retired(total=500)
    come_and_go(server, 2000, addresses=2000)
    assert kept_streams(Welcomed) == 500
