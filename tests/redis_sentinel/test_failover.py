"""Redis Sentinel: the master is killed while a history class's stream runs to the clients of
two gunicorn workers, over websocket and xhr-polling. The sentinels promote the replica; the
workers and the publisher follow it; every client's connection stays open and it ends with
every message, or a ``gap`` where some were lost; the time until delivery resumes is measured.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from urllib.parse import urlencode

import pytest

from tests.redis.conftest import PROJECT, project_env
from tests.support.http import request
from tests.support.sentinel import SentinelDeployment
from tests.support.servers import GunicornServer, wait_for
from tests.support.sockjs import SignalClient

pytestmark = pytest.mark.redis

COUNT = 400  # messages in the stream, one every INTERVAL seconds: about 10 s of it
INTERVAL = 0.02
KILL_AFTER = 40  # the master is killed once every client has this many
RESUME_WITHIN = 15.0  # seconds from the kill until every client has a message sent after it
TOKEN = {"Authorization": "Bearer stats-token"}


class Reader:
    """What one client receives, each event with the time it came, read in a thread."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.events: list[tuple[float, dict]] = []
        self.error: BaseException | None = None
        self.done = False
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        try:
            while not self.done:
                for event in self.receive():
                    self.events.append((time.time(), event))
        except BaseException as error:  # reported by the test (not once it closed the client)
            if not self.done:
                self.error = error

    def receive(self) -> list[dict]:
        raise NotImplementedError

    def numbers(self) -> list[int]:
        return [e["data"]["n"] for _t, e in self.events if e.get("event") == "numbered"]

    def has(self, n: int) -> bool:
        return bool(self.numbers()) and self.numbers()[-1] >= n


class WebsocketReader(Reader):
    def __init__(self, url: str) -> None:
        self.client = SignalClient(url, background=True)
        self.pid = self.client.next_event()["data"]["pid"]
        super().__init__("websocket@%d" % self.pid)

    def receive(self) -> list[dict]:
        try:
            return [self.client.next_event(timeout=1)]
        except TimeoutError:
            return []

    def close(self) -> None:
        self.done = True
        self.client.close()


class PollingReader(Reader):
    """An xhr-polling session, one fresh connection per request, so that its polls land on
    either worker (the other forwards them to the session's owner through Redis).

    As ``SignalSocket`` does, it remembers its positions and resume token, and when the server
    lost its session (a poll answered with a new session's ``o``: it landed on a worker that
    could not ask Redis for the owner) it opens another with ``?recovering=1`` whose first
    message says where it stands, and gets what it missed replayed, or a ``gap``."""

    def __init__(self, url: str) -> None:
        self.base = url
        self.headers = {"Cookie": "sockjs_key=%s" % uuid.uuid4().hex}
        self.positions: dict[str, str] = {}
        self.resume = ""
        self.unavailable = 0  # requests answered 503 (no owner could be asked): made again
        self.empty: list[float] = []  # times of polls answered 200 with nothing: polled again
        self.recovered = 0  # sessions opened again, recovering
        self._open()
        super().__init__("xhr-polling-%s" % self.url.rsplit("/", 1)[1][:6])

    def _open(self, recovering: bool = False) -> None:
        self.url = "%s/000/%s" % (self.base, uuid.uuid4().hex)
        assert self._request("/xhr" + ("?recovering=1" if recovering else "")) == "o"
        if recovering:
            self.recovered += 1
            recovery = urlencode(
                {
                    "recover": ",".join("%s~%s" % i for i in self.positions.items()),
                    "resume": self.resume,
                }
            )
            assert self._request("/xhr_send", json.dumps([recovery])) == ""

    def _request(self, path: str, body: str | None = None) -> str:
        while True:
            reply = request("POST", self.url + path, body, self.headers, timeout=30)
            if reply.status != 503:
                break
            self.unavailable += 1
            time.sleep(0.1)
        assert reply.status in (200, 204), reply.body
        return reply.body.rstrip("\n")

    def receive(self) -> list[dict]:
        frame = self._request("/xhr")
        if frame == "":
            self.empty.append(time.time())
            return []
        if frame == "h":
            return []
        if frame == "o" or frame.startswith("c"):  # the server lost the session
            self._open(recovering=True)
            return []
        assert frame.startswith("a"), frame
        events = [json.loads(message) for message in json.loads(frame[1:])]
        for event in events:
            self.resume = event.get("resume", self.resume)
            self.positions.update(event.get("positions", {}))
            if "s" in event:
                self.positions[event["s"]] = event["p"]
        return events

    def close(self) -> None:
        self.done = True


def check(reader: Reader) -> int:
    """Every message after the first this client had, in order, once, or a gap where some
    are missing; the number of gaps."""
    assert reader.error is None, "%s: %r" % (reader.name, reader.error)
    expected = None
    gap = False
    gaps = 0
    for _at, event in reader.events:
        if event.get("event") == "gap":
            gap = True
            gaps += 1
        elif event.get("event") == "numbered":
            n = event["data"]["n"]
            if expected is not None:
                assert n >= expected, "%s: %d again, or out of order" % (reader.name, n)
                assert n == expected or gap, "%s: %d to %d missed silently" % (
                    reader.name,
                    expected,
                    n - 1,
                )
            expected, gap = n + 1, False
    assert expected == COUNT, "%s ended at %s" % (reader.name, expected)
    return gaps


def resumed(reader: Reader, killed: float) -> float:
    """Seconds from the kill until this client had the first message sent after it."""
    for at, event in reader.events:
        if event.get("event") == "numbered" and float(event["data"]["origin"]) > killed:
            return at - killed
    raise AssertionError("%s: nothing sent after the kill arrived" % reader.name)


@pytest.mark.timeout(120)
def test_a_failover_under_a_stream_to_two_workers_over_websocket_and_xhr_polling():
    with (
        SentinelDeployment() as sentinel,
        GunicornServer(
            "redisproject.wsgi:application",
            workers=2,
            env=project_env(sentinel.url),
            cwd=PROJECT,
        ) as server,
    ):
        url = server.url + "/history"
        readers: list[Reader] = []
        deadline = time.monotonic() + 20
        while len({r.pid for r in readers if isinstance(r, WebsocketReader)}) < 2:
            assert time.monotonic() < deadline, "the websockets landed on one worker"
            readers.append(WebsocketReader(url))
        readers += [PollingReader(url), PollingReader(url)]
        stream = subprocess.Popen(
            [sys.executable, str(PROJECT / "send_ticks.py"), "stream", str(COUNT), str(INTERVAL)],
            env={**os.environ, **project_env(sentinel.url)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            wait_for(lambda: all(r.has(KILL_AFTER) for r in readers), 30, "the stream")
            killed = time.time()
            sentinel.master.kill()
            promoted = sentinel.wait_failover(30)
            promoted_after = time.time() - killed
            out, err = stream.communicate(timeout=60)
        finally:
            stream.kill()
        assert stream.returncode == 0, err
        wait_for(lambda: all(r.has(COUNT - 1) or r.error for r in readers), 30, "every client")
        for reader in readers:
            reader.close()
        gaps = {reader.name: check(reader) for reader in readers}
        websocket = max(resumed(r, killed) for r in readers if isinstance(r, WebsocketReader))
        polling = max(resumed(r, killed) for r in readers if isinstance(r, PollingReader))
        resume = max(websocket, polling)
        print(
            "\nSentinel failover: promoted %.2f s after the kill; delivery resumed %.2f s after "
            "it on every websocket, %.2f s on every xhr-polling session; publisher: %s; gaps "
            "per client: %s; xhr requests answered 503: %d, polls empty (at s after the kill): "
            "%s; xhr sessions recovered: %d"
            % (
                promoted_after,
                websocket,
                polling,
                out.strip(),
                gaps,
                sum(r.unavailable for r in readers if isinstance(r, PollingReader)),
                [
                    "%.2f" % (at - killed)
                    for r in readers
                    if isinstance(r, PollingReader)
                    for at in r.empty
                ],
                sum(r.recovered for r in readers if isinstance(r, PollingReader)),
            )
        )
        assert resume < RESUME_WITHIN
        assert "moved from" in server.log_text()  # the workers followed the new master

        # The stats say where the workers are now: on the promoted master, after a failover.
        def on_new_master() -> dict | None:
            reply = request("GET", server.url + "/clientsignal/stats.json", headers=TOKEN)
            where = json.loads(reply.body)["topology"]
            master = "%s:%d" % promoted
            return where if where["masters"] == {master: 2} else None

        where = wait_for(on_new_master, 10, "both workers' stats to name the new master")
        assert where["kinds"] == ["sentinel"] and where["failovers"] == 1
        metrics = request("GET", server.url + "/clientsignal/metrics", headers=TOKEN).body
        assert "clientsignal_backend_failovers 1" in metrics
