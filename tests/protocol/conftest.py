"""The protocol tests run against one worker, and against four workers sharing sessions
through Redis (every HTTP request of a session may land on any of them and be forwarded to
the session's owner): the protocol must be the same."""

from __future__ import annotations

import itertools
import threading
import time

import pytest
import redis

from tests.support.http import request

SERVERS = {"w1": "one worker", "w4-redis": "four workers sharing sessions through Redis"}


@pytest.fixture(scope="session", params=list(SERVERS))
def echo_server(request, echo_server):
    """tests/conftest.py's ``echo_server`` (one worker), then ``echo_cluster`` with its
    sessions spread over its workers (see Owners)."""
    if request.param == "w1":
        return echo_server
    cluster = request.getfixturevalue("echo_cluster")
    if not hasattr(cluster, "owners"):
        cluster.owners = Owners(cluster)
    return cluster


class Owners:
    """Which worker owns each new session of the cluster, chosen by the tests: the next worker
    in turn, claimed in Redis before the session's first request.

    Left alone, gunicorn may hand every connection to the same worker for a while (a cold
    cluster here took 95 requests in 100 on one worker), and then a session is owned by the
    worker that gets all its requests: nothing is forwarded, and the tests would not test
    the cluster. A session owned by the next worker in turn (as when another worker claimed it
    first) has its requests relayed, wherever they land, three times in four at least."""

    def __init__(self, server, timeout: float = 10) -> None:
        self.client = redis.Redis.from_url(server.redis.url)
        deadline = time.monotonic() + timeout
        # A worker joins the cluster (subscribes to its inbox) on its first SockJS request.
        while len(self.inboxes()) < server.workers and time.monotonic() < deadline:
            threads = [
                threading.Thread(target=request, args=("GET", server.url + "/echo/info"))
                for _ in range(2 * server.workers)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        workers = self.inboxes()
        assert len(workers) >= 2, "only %d worker(s) joined the cluster" % len(workers)
        self._next = itertools.cycle(workers)

    def inboxes(self) -> list[str]:
        """The ids of the workers that joined the cluster."""
        return sorted(
            name.decode().rsplit(":", 1)[1]
            for name in self.client.pubsub_channels("clientsignal:worker:*")
        )

    def claim(self, mount: str, session_id: str) -> None:
        """The next worker in turn owns the session ``session_id`` of ``mount``."""
        key = "clientsignal:session:%s:%s" % (mount, session_id)
        self.client.set(key, next(self._next), px=60_000)
