"""Redis is not there, or stalls: workers answer at once, serve what they can alone, say so
once per change of state, and recover when Redis answers again.

The workers are reached through keep-alive connections (one per worker, for HTTP; the same
connections upgraded, for websockets), so a test knows which worker serves what.
"""

from __future__ import annotations

import re
import signal
import subprocess
import time
from collections.abc import Iterator

import pytest

from tests.support.servers import RedisServer, wait_for

from .wire import (
    Browser,
    HttpSession,
    Pinned,
    RawWebSocket,
    pin_workers,
    session_path,
    sockjs_message,
)

FIGURES: dict[str, str] = {}


def figure(name: str, text: str) -> None:
    FIGURES[name] = text
    print("\n%s: %s" % (name, text))


def redis_lines(log: str) -> list[str]:
    """The log lines about Redis, the backends and forwarding."""
    pattern = re.compile(r"Redis|unreachable|subscriptions|owner|forward", re.IGNORECASE)
    return [line for line in log.splitlines() if pattern.search(line)]


def open_websocket(via: Pinned, prefix: str = "/open") -> tuple[RawWebSocket, float]:
    started = time.monotonic()
    ws = via.upgrade(session_path(prefix))
    assert ws.recv_text() == "o"
    return ws, time.monotonic() - started


def shout_reaches(sender: RawWebSocket, receivers: list[RawWebSocket], text: str) -> bool:
    """Whether a broadcast (through Redis) sent by ``sender`` reaches every receiver within a
    second; frames that are not it are skipped."""
    sender.send_event("shout", {"text": text})
    for ws in receivers:
        ws.sock.settimeout(1)
        try:
            while True:
                message = ws.recv_text()
                if text in message:
                    break
        except TimeoutError:
            return False
        finally:
            ws.sock.settimeout(10)
    return True


@pytest.fixture
def redis_later() -> Iterator[RedisServer]:
    """A Redis port nobody listens on; ``.start()`` it when the test says so."""
    redis = RedisServer()
    yield redis
    redis.stop()


@pytest.mark.timeout(90)
def test_workers_without_redis_answer_at_once_and_recover(start, redis_later) -> None:
    with start(workers=2, backend=redis_later.url) as server:
        port = server.port
        ws_conns = pin_workers(port, 2)
        http_conns = {conn.pid: conn for conn in pin_workers(port, 2)}
        # The first request of each worker: a websocket, with Redis down.
        sockets, firsts = [], []
        for via in ws_conns:
            ws, seconds = open_websocket(via)
            sockets.append(ws)
            firsts.append(seconds)
        figure(
            "Redis down: time to the first open frame of each worker",
            ", ".join("%.0f ms" % (s * 1000) for s in firsts),
        )
        assert max(firsts) < 3
        # A websocket works (its messages need no Redis).
        for ws in sockets:
            ws.send_event("ping", {"n": 1})
            assert ws.next_event()["data"]["n"] == 1
        # HTTP fallback sessions on one worker, from its first HTTP request.
        a, b = (http_conns[conn.pid] for conn in ws_conns)
        browser = Browser(port)
        session = HttpSession(browser, "/open")
        opened = session.poll_reply(via=a)
        assert (opened.status, opened.body) == (200, "o\n")
        assert session.send("ping", {"n": 2}, via=a).status == 204
        assert [e["data"]["n"] for e in session.events(via=a)] == [2]
        # A send for a session this worker does not hold: at once, 503 (or 404).
        reply = session.send("ping", {"n": 3}, via=b)
        figure(
            "Redis down: a send for another worker's session",
            "%d in %.0f ms" % (reply.status, reply.seconds * 1000),
        )
        assert reply.status in (503, 404) and reply.seconds < 2
        # (A poll through the other worker opens a second session under the same id there:
        # with Redis down, nothing says the first worker has it.)
        duplicate = session.poll_reply(via=b)
        figure(
            "Redis down: a poll for another worker's session",
            "%d %r in %.0f ms" % (duplicate.status, duplicate.body, duplicate.seconds * 1000),
        )
        # Two hundred requests of every kind: no more log lines about Redis.
        settled = redis_lines(server.log_text())
        started = time.monotonic()
        for n in range(40):
            for via in (a, b):
                stranger = HttpSession(browser, "/open")
                assert via.request(
                    "POST", stranger.base + "/xhr_send", sockjs_message("ping")
                ).status in (503, 404)
            assert session.send("ping", {"n": 100 + n}, via=a).status == 204
            assert session.events(via=a)[0]["data"]["n"] == 100 + n
            sockets[n % 2].send_event("shout", {"text": "lost %d" % n})  # a publish that fails
        elapsed = time.monotonic() - started
        for ws in sockets:  # still served
            ws.send_event("ping", {"n": 4})
            assert ws.next_event()["data"]["n"] == 4
        after = redis_lines(server.log_text())
        figure(
            "Redis down: 200 requests",
            "in %.2f s; log lines about Redis: %d before them, %d after"
            % (elapsed, len(settled), len(after)),
        )
        assert after == settled
        assert sum("is unreachable" in line for line in after) <= 2  # one per worker
        # Redis comes up on that port: each worker's subscriber says so once.
        back = time.monotonic()
        redis_later.start()
        wait_for(lambda: server.log_text().count("answers again") >= 2, 15, "both workers")
        figure("Redis back: both workers answer again after", "%.1f s" % (time.monotonic() - back))
        # Sessions are shared again: a session opened on one worker, sent to through the other.
        fresh = HttpSession(browser, "/open")
        wait_for(lambda: fresh.poll_reply(via=b).status == 200, 5, "a new session")
        assert fresh.send("ping", {"n": 5}, via=a).status == 204
        assert [e["data"]["n"] for e in fresh.events(via=a)] == [5]
        # And broadcasts reach the other worker.
        assert wait_for(lambda: shout_reaches(sockets[0], sockets, "back"), 10, "a broadcast")
        for ws in sockets:
            ws.close()


@pytest.mark.timeout(60)
def test_a_silent_redis_is_not_a_missing_session(start) -> None:
    redis = RedisServer()
    redis.start()
    assert redis.proc is not None
    redis.proc.send_signal(signal.SIGSTOP)  # connections are accepted; nothing answers
    try:
        with start(workers=2, backend=redis.url, header_timeout="30") as server:
            ws_conns = pin_workers(server.port, 2)
            http_conns = {conn.pid: conn for conn in pin_workers(server.port, 2)}
            firsts = []
            for via in ws_conns:
                ws, seconds = open_websocket(via)
                firsts.append(seconds)
                ws.close()
            a, b = (http_conns[conn.pid] for conn in ws_conns)
            session = HttpSession(Browser(server.port), "/open")
            assert session.poll_reply(via=a).body == "o\n"
            reply = session.send("ping", {"n": 1}, via=b)
            figure(
                "silent Redis",
                "first open frame of each worker: %s; a send through the other worker: %d "
                "%r in %.0f ms"
                % (
                    ", ".join("%.0f ms" % (s * 1000) for s in firsts),
                    reply.status,
                    reply.body,
                    reply.seconds * 1000,
                ),
            )
            assert max(firsts) < 3
            assert reply.status == 503 and reply.seconds < 2
    finally:
        redis.proc.send_signal(signal.SIGCONT)
        redis.stop()


@pytest.mark.timeout(60)
def test_a_redis_stall_is_recovered_from(start) -> None:
    redis = RedisServer()
    # Heartbeats far apart: the test's clients do not read (nor answer pings) meanwhile.
    options = {"heartbeat_delay": 10}
    with redis, start(workers=2, backend=redis.url, sockjs_options=options) as server:
        ws_conns = pin_workers(server.port, 2)
        sockets = [open_websocket(via)[0] for via in ws_conns]
        assert wait_for(lambda: shout_reaches(sockets[0], sockets, "before"), 10, "a broadcast")
        # Redis stalls for 2.5 s (a fork for a snapshot of a big dataset, a slow command, a
        # failover): every command waits, connections stay up.
        subprocess.run(
            ["redis-cli", "-p", str(redis.port), "CLIENT", "PAUSE", "2500", "ALL"],
            check=True,
            capture_output=True,
        )
        paused = time.monotonic()
        sockets[0].send_event("shout", {"text": "during"})  # its publish times out
        wait_for(lambda: "is unreachable" in server.log_text(), 5, "the stall to be noticed")
        wait_for(lambda: time.monotonic() - paused > 2.6, 5, "the end of the stall")
        try:
            wait_for(lambda: shout_reaches(sockets[0], sockets, "after"), 6, "a broadcast")
        finally:
            figure("Redis stall: log", " | ".join(redis_lines(server.log_text())[-4:]))
            for ws in sockets:
                ws.close()
