"""No line lost across a reconnect, in real Chromium: the chat room keeps its last lines, and a
page that loses its network (or whose workers are killed, as a deploy would) gets every line
said meanwhile, once, in order, on websocket and on an HTTP transport."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from tests.support.proxy import CuttableProxy
from tests.support.servers import RedisServer, wait_for

from .conftest import CHAT_USERS, EXAMPLES, run_example
from .test_chat_example import log_in, messages, say
from .test_chat_lifecycle import _parent, _processes

pytestmark = pytest.mark.browser

TRANSPORTS = ["websocket", "xhr-polling"]


class Through:
    """The chat server as a page reached through a proxy sees it."""

    def __init__(self, proxy: CuttableProxy) -> None:
        self.url = proxy.url


@pytest.fixture(scope="module")
def chat_in_memory():
    yield from run_example("chat", setup=CHAT_USERS)


def lines(page):
    return [text for text in messages(page)]


def wait_lines(page, count, timeout=30000):
    page.wait_for_function(
        "n => document.querySelectorAll('#log li.message').length >= n", arg=count, timeout=timeout
    )


@pytest.mark.timeout(120)
@pytest.mark.parametrize("heard", [1, 0], ids=["heard-a-line", "heard-nothing"])
@pytest.mark.parametrize("transport", TRANSPORTS)
def test_a_page_that_loses_its_network_gets_every_line_once_in_order(
    browser, chat_in_memory, transport, heard
):
    """Also when the page had heard nothing of the room before its network went (bob was
    there first, so not even his arrival): it names the position the server gave it on
    open."""
    proxy = CuttableProxy(chat_in_memory.port)
    bob = log_in(browser, chat_in_memory, "bob")
    alice = log_in(browser, Through(proxy), "alice", transport=transport)
    try:
        for n in range(heard):
            say(bob, str(n))
        wait_lines(alice, heard)
        proxy.cut()  # alice's network goes
        alice.wait_for_selector("#state:text('reconnecting')", timeout=20000)
        for n in range(heard, heard + 5):  # said while she is away
            say(bob, str(n))
            wait_lines(bob, n + 1)
        proxy.restore()
        alice.wait_for_selector("#state:text('connected')", timeout=30000)
        say(bob, str(heard + 5))
        wait_lines(alice, heard + 6)
        wait_lines(bob, heard + 6)
        assert lines(alice) == ["bob: %d" % n for n in range(heard + 6)]
        assert alice.locator("#log li.gap").count() == 0
    finally:
        alice.context.close()
        bob.context.close()
        proxy.close()


def test_a_history_that_is_gone_is_said_not_hidden(browser):
    """The in-process backend keeps history in the worker: restarting it loses it (a new
    epoch), and the page says so instead of silently missing what was said."""
    for server in run_example("chat", setup=CHAT_USERS):
        alice = log_in(browser, server, "alice")
        bob = log_in(browser, server, "bob")
        try:
            say(bob, "0")
            wait_lines(alice, 1)  # she has a position in the room's stream
            server.restart()
            alice.wait_for_selector("#log li.gap", timeout=30000)
            alice.wait_for_selector("#state:text('connected')", timeout=30000)
        finally:
            alice.context.close()
            bob.context.close()


@pytest.fixture(scope="module")
def redis_for_chat():
    with RedisServer() as redis_server:
        yield redis_server


@pytest.fixture(scope="module")
def chat_on_redis(redis_for_chat):
    yield from run_example(
        "chat", workers=2, setup=CHAT_USERS, CLIENTSIGNAL_BACKEND=redis_for_chat.url
    )


def said_by_another_process(server, *texts):
    """Lines said in room 1 by a process that serves no socket (a task, a command)."""
    code = (
        "from chat.connections import message\n"
        "for text in %r: message.send(sender=None, room_id=1, user='bob', text=text)" % (texts,)
    )
    subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=EXAMPLES / "chat",
        env={**os.environ, **server.env},
        check=True,
        timeout=60,
        capture_output=True,
    )


@pytest.mark.timeout(150)
@pytest.mark.parametrize("transport", TRANSPORTS)
def test_lines_said_while_the_workers_restart_reach_the_page_once_in_order(
    browser, chat_on_redis, transport
):
    """Two workers and Redis: the workers are killed (as a deploy's restart would, without a
    graceful stop), lines are said meanwhile from another process, and the page reconnects
    to a new worker, which replays them from Redis."""
    alice = log_in(browser, chat_on_redis, "alice", transport=transport)
    try:
        said_by_another_process(chat_on_redis, "0")
        wait_lines(alice, 1)
        master = chat_on_redis.proc.pid
        workers = [pid for pid in _processes() if _parent(pid) == master]
        for pid in workers:
            os.kill(pid, signal.SIGKILL)
        said_by_another_process(chat_on_redis, "1", "2", "3", "4", "5")
        alice.wait_for_selector("#state:text('connected')", timeout=30000)
        wait_for(lambda: not set(workers) & set(_processes()), 10, "the old workers gone")
        said_by_another_process(chat_on_redis, "6")
        wait_lines(alice, 7)
        assert lines(alice) == ["bob: %d" % n for n in range(7)]
        assert alice.locator("#log li.gap").count() == 0
    finally:
        alice.context.close()
