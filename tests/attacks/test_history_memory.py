"""Anonymous clients that open and close sockets of a history class, as fast as they can: a
connection to which nothing was sent leaves nothing behind, in the workers or in Redis; of
those that were sent something, at most RETAINED_PER_ADDRESS per client address remain (per
worker), kept for their clients' return."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import redis as redis_py

from clientsignal.backends.streams import RETAINED_PER_ADDRESS
from tests.support.servers import GunicornServer, RedisServer

from .test_redis_down import figure
from .wire import RawWebSocket, events_of, rss_kib, session_path, worker_pids

CONNECTIONS = 2000


@pytest.fixture(scope="module", params=["memory-1-worker", "redis-2-workers"])
def site(request, start) -> Iterator[tuple[GunicornServer, RedisServer | None]]:
    if request.param == "memory-1-worker":
        with start(workers=1) as server:
            yield server, None
        return
    with RedisServer() as redis, start(workers=2, backend=redis.url) as server:
        yield server, redis


def come_and_go(server: GunicornServer, count: int, prefix: str = "/history") -> None:
    """``count`` websockets to ``prefix``, one after the other: each waits until the server
    has said where it stands (its resume token) and, on /welcomed, for its welcome, then
    closes."""
    for _ in range(count):
        ws = RawWebSocket.open(server.port, session_path(prefix))
        assert ws.recv_text() == "o"
        waiting = {"resume", "welcome"} if prefix == "/welcomed" else {"resume"}
        while waiting:
            for event in events_of([ws.recv_text()]):
                waiting.discard("resume" if "resume" in event else event.get("event", ""))
        ws.close()


def workers_rss(server: GunicornServer) -> int:
    assert server.proc is not None
    return sum(rss_kib(pid) for pid in worker_pids(server.proc.pid))


@pytest.mark.timeout(180)
def test_sockets_that_come_and_go_leave_nothing_behind(site) -> None:
    server, redis = site
    keys = redis_py.Redis.from_url(redis.url).dbsize if redis is not None else (lambda: 0)
    come_and_go(server, 200)  # warm-up
    rss_before, keys_before = workers_rss(server), keys()
    come_and_go(server, CONNECTIONS)
    rss_after, keys_after = workers_rss(server), keys()
    figure(
        "%d anonymous websockets of a history class opened and closed (%s)"
        % (CONNECTIONS, "Redis, 2 workers" if redis else "in-process, 1 worker"),
        "workers' RSS %+d KiB (%.2f KiB per connection); Redis keys %d -> %d"
        % (
            rss_after - rss_before,
            (rss_after - rss_before) / CONNECTIONS,
            keys_before,
            keys_after,
        ),
    )
    assert keys_after - keys_before <= 2, json.dumps([keys_before, keys_after])


@pytest.mark.timeout(180)
def test_what_sockets_that_were_sent_something_leave_is_bounded(site) -> None:
    server, redis = site
    workers = server.workers or 1
    count = 3 * RETAINED_PER_ADDRESS * workers
    come_and_go(server, count, "/welcomed")
    if redis is None:
        return  # in-process: tests/api/test_history_memory.py counts what is kept
    client = redis_py.Redis.from_url(redis.url)
    kept = len(client.keys("attack:connection:*|stream"))
    figure(
        "%d anonymous websockets sent a message each, opened and closed (Redis, 2 workers)" % count,
        "their streams kept in Redis: %d" % kept,
    )
    # At most RETAINED_PER_ADDRESS per worker, and the last one of each still closing.
    assert RETAINED_PER_ADDRESS * workers <= kept <= (RETAINED_PER_ADDRESS + 1) * workers
