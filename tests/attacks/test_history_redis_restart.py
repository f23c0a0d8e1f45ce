"""History's promise across a Redis restart: clients of a history class on two workers, over
websocket and xhr-polling (the real SignalSocket and sockjs-client in headless Chromium), get
every numbered broadcast that an outside process publishes while Redis is killed and started
again empty, or a ``gap`` naming the stream where they missed some: never silence. One page of
each transport also loses its connection while Redis is away, and reconnects meanwhile.

Three kinds of message are at stake: those published while Redis is down (the publisher's
call fails: lost for everyone), those published after Redis answers again but before each
worker's subscriber is subscribed again (kept in a stream nobody reads, unless the subscriber
reads it when it is back), and those of the history that the restart lost (a new epoch)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator

import pytest
import redis as redis_py

from tests.support.servers import RedisServer, wait_for

from .conftest import PROJECT, project_env
from .test_redis_down import figure

pytestmark = [pytest.mark.browser, pytest.mark.redis]

TRANSPORTS = ("websocket", "xhr-polling")
STREAM = "broadcast HistoryConnection"  # how a gap names the class's broadcasts (kind, name)
# Every stream a gap may name on /history: the app's own (its broadcasts, what is sent to
# the connection), never a parent class's that carries nothing (SignalConnection's).
NAMED = {STREAM, "connection connection", "user user"}


class Publisher:
    """publish_numbered.py in a process of its own: 0, 1, 2... every ``interval`` seconds."""

    def __init__(self, redis_url: str, interval: float) -> None:
        self.results: list[tuple[int, bool]] = []
        self.started: dict[int, float] = {}  # when each publish began (ms since the epoch)
        self.proc = subprocess.Popen(
            [sys.executable, str(PROJECT / "publish_numbered.py"), str(interval)],
            env={**os.environ, **project_env(backend=redis_url)},
            cwd=PROJECT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            result = json.loads(line)
            self.started[result["n"]] = result["t"]
            self.results.append((result["n"], result["ok"]))

    def count(self, ok: bool, since: int = 0) -> int:
        return sum(1 for _n, done in self.results[since:] if done is ok)

    def stop(self) -> int:
        """Stop it (it publishes one more); the last number published."""
        assert self.proc.stdin is not None
        self.proc.stdin.write("stop\n")
        self.proc.stdin.flush()
        self.proc.wait(30)
        self._reader.join(10)
        return self.results[-1][0]

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


def open_pages(browser, server, transport: str, workers: int = 2) -> list:
    """Pages listening to /history over ``transport``, until each worker serves one."""
    pages: list = []
    pids: set[int] = set()
    while len(pids) < workers:
        assert len(pages) < 12, "every %s page landed on workers %s" % (transport, pids)
        page = browser.new_context().new_page()
        page.goto(server.url + "/pages/history/?transport=" + transport)
        page.wait_for_function("window.hello !== undefined", timeout=15000)
        page.transport = transport
        page.pid = page.evaluate("hello.pid")
        pids.add(page.pid)
        pages.append(page)
    return pages


def heard(page) -> list:
    return page.evaluate("heard")


def silent_losses(log: list, published: dict[int, float]) -> list[int]:
    """The numbers the page neither heard nor was told of: a number missed is told of by a
    gap naming the stream that came after it was published (the page's clock and the
    publisher's are the machine's) and before the page heard any later number."""
    numbers = [(i, entry[1]) for i, entry in enumerate(log) if entry[0] == "n"]
    got = {n for _i, n in numbers}
    gaps = [(i, e[2]) for i, e in enumerate(log) if e[0] == "gap" and STREAM in e[1]]
    silent = []
    for missing in sorted(set(published) - got):
        after = min((i for i, n in numbers if n > missing), default=len(log))
        if not any(i < after and at >= published[missing] for i, at in gaps):
            silent.append(missing)
    return silent


@pytest.fixture
def redis() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    yield server
    server.stop()


@pytest.mark.timeout(240)
@pytest.mark.parametrize("restart", ["empty", "snapshot"])
def test_no_message_is_lost_silently_across_a_redis_restart(browser, start, redis, restart) -> None:
    """``empty``: Redis starts again with nothing (a new history: another epoch, another
    life); ``snapshot``: with what it saved a moment before it was killed (the same history,
    without its last messages)."""
    with start(workers=2, backend=redis.url) as server:
        by_transport = {kind: open_pages(browser, server, kind) for kind in TRANSPORTS}
        pages = [page for kind in TRANSPORTS for page in by_transport[kind]]
        droppers = [by_transport[kind][0] for kind in TRANSPORTS]
        publisher = Publisher(redis.url, 0.025)
        try:
            for page in pages:
                page.wait_for_function(
                    "heard.filter(e => e[0] === 'n').length >= 20", timeout=20000
                )
            if restart == "snapshot":
                redis_py.Redis.from_url(redis.url).save()
                saved = len(publisher.results)
                wait_for(lambda: len(publisher.results) >= saved + 10, 10, "more publishes")
            redis.kill()
            down = len(publisher.results)
            wait_for(lambda: publisher.count(False, down) >= 20, 20, "publishes to fail")
            # A page of each transport loses its connection meanwhile. The websocket one
            # reconnects to a worker that cannot read what it missed (Redis is away); the
            # xhr-polling one may not get back before Redis does (its recovery message is a
            # send, which fails with 503 on a worker that does not hold its session while
            # Redis cannot say who does): it keeps trying, and is waited for below.
            for page in droppers:
                page.evaluate("sock._sock.close()")
            for page in droppers:
                if page.transport == "websocket":
                    page.wait_for_function(
                        "heard.filter(e => e[0] === 'open').length >= 2", timeout=20000
                    )
            # Down long enough (60 publishes, 1.5 s) for the workers' subscribers to wait
            # longer between attempts: some publishes work again before they are back.
            wait_for(lambda: publisher.count(False, down) >= 60, 20, "publishes to fail")
            redis.start()  # on the same port, from its snapshot if it saved one
            back = len(publisher.results)
            wait_for(lambda: server.log_text().count("answers again") >= 2, 20, "both workers")
            window = publisher.count(True, back)  # published before a subscriber was back
            wait_for(lambda: publisher.count(True, back) >= 40, 20, "publishes to work again")
            last = publisher.stop()
        finally:
            publisher.kill()
        for page in droppers:
            page.wait_for_function(
                "heard.filter(e => e[0] === 'open').length >= 2", timeout=30000
            )
        # Each page ends with the last number, or with a gap told after it was published (a
        # page that reconnected after it, to a history Redis lost).
        for page in pages:
            try:
                page.wait_for_function(
                    """([n, t]) => heard.some(
                        e => (e[0] === 'n' && e[1] === n) || (e[0] === 'gap' && e[2] >= t))""",
                    arg=[last, publisher.started[last]],
                    timeout=30000,
                )
            except Exception:
                log = heard(page)
                raise AssertionError(
                    "%s page on worker %d never heard %d nor a gap: its last 12 entries %s\n%s"
                    % (page.transport, page.pid, last, log[-12:], server.log_text()[-4000:])
                ) from None
        failed = publisher.count(False)
        report = []
        losses = {}
        for page in pages:
            log = heard(page)
            numbers = [entry[1] for entry in log if entry[0] == "n"]
            assert numbers == sorted(set(numbers)), "twice or out of order: %s" % numbers
            named = {name for entry in log if entry[0] == "gap" for name in entry[1]}
            assert named <= NAMED, "a gap named %s" % sorted(named - NAMED)
            silent = silent_losses(log, publisher.started)
            losses["%s on %d" % (page.transport, page.pid)] = silent
            report.append(
                "%s (worker %d, opened %d times): heard %d, missed %d, gap events %d, missed "
                "silently %d"
                % (
                    page.transport,
                    page.pid,
                    sum(1 for entry in log if entry[0] == "open"),
                    len(numbers),
                    last + 1 - len(numbers),
                    sum(1 for entry in log if entry[0] == "gap"),
                    len(silent),
                )
            )
        figure(
            "Redis killed and restarted (%s) under a stream of %d broadcasts (%d failed to "
            "publish, %d published before both workers' subscribers were back)"
            % (restart, last + 1, failed, window),
            "; ".join(report),
        )
        for page in pages:
            page.context.close()
        assert all(not silent for silent in losses.values()), losses
