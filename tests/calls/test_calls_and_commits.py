"""Calls and on-commit delivery the way a user meets them: real Chromium pages, gunicorn, a real
(sqlite) database, and Redis across two workers."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.proxy import CuttableProxy
from tests.support.redis_cluster import RedisClusterServers
from tests.support.servers import REPO, GunicornServer, RedisServer

pytestmark = pytest.mark.browser

PROJECT = Path(__file__).parent / "project"


def project_env(db: str, **extra: str) -> dict[str, str]:
    return {
        "CALLS_DB": db,
        "DJANGO_SETTINGS_MODULE": "callsproject.settings",
        "PYTHONPATH": os.pathsep.join([str(PROJECT), str(REPO)]),
        **extra,
    }


def manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=PROJECT,
        env={**os.environ, **env},
        check=True,
        timeout=60,
        capture_output=True,
        text=True,
    )


def serve(workers: int, **extra: str) -> Iterator[GunicornServer]:
    with tempfile.TemporaryDirectory() as tmp:
        env = project_env(os.path.join(tmp, "db.sqlite3"), **extra)
        manage(env, "migrate", "--noinput", "-v0")
        server = GunicornServer(
            "callsproject.wsgi:application", workers=workers, env=env, cwd=PROJECT
        )
        with server:
            yield server


@pytest.fixture(scope="module")
def notes_server() -> Iterator[GunicornServer]:
    yield from serve(1)


@pytest.fixture(scope="module", params=["redis", "cluster"])
def notes_on_redis(request) -> Iterator[GunicornServer]:
    """Two workers on one redis-server, then on a three-master Redis Cluster."""
    with RedisClusterServers() if request.param == "cluster" else RedisServer() as redis_server:
        yield from serve(2, CLIENTSIGNAL_BACKEND=redis_server.url)


def open_page(page, base_url, transport):
    page.goto(base_url + "/?transport=" + transport)
    page.wait_for_selector("body[data-state=open]", timeout=15000)


def call(page, name, data=None, timeout=None):
    options = "{timeout: %d}" % timeout if timeout else "undefined"
    return page.evaluate(
        "([name, data]) => settle(sock.call(name, data, %s))" % options, [name, data or {}]
    )


@pytest.mark.parametrize("transport", ["websocket", "xhr-polling", "eventsource"])
def test_a_call_resolves_with_what_the_receiver_returned(page, notes_server, transport):
    open_page(page, notes_server.url, transport)
    assert call(page, "add", {"a": 2, "b": 3}) == {"value": 5}


@pytest.mark.parametrize("transport", ["xhr-polling", "xhr-streaming"])
def test_calls_across_workers(browser, notes_on_redis, transport):
    """Two workers sharing HTTP sessions through Redis: the polls and sends of a page land on
    either, and are forwarded to the worker that owns its session; every answer comes back."""
    page = browser.new_page()
    try:
        open_page(page, notes_on_redis.url, transport)
        answers = page.evaluate(
            "() => Promise.all([...Array(20).keys()].map((n) => "
            "settle(sock.call('add', {a: n, b: 1}))))"
        )
        assert answers == [{"value": n + 1} for n in range(20)]
    finally:
        page.close()


def test_a_raising_receiver_rejects_the_call_with_a_safe_message(page, notes_server):
    open_page(page, notes_server.url, "websocket")
    result = call(page, "boom")
    assert result == {"error": "internal error handling 'boom'"}
    assert "secret internals" in notes_server.log_text()  # the log has the details


def test_a_raising_receiver_is_one_traceback_in_gunicorns_log(page, notes_server):
    open_page(page, notes_server.url, "websocket")
    before = len(notes_server.log_text())
    assert call(page, "boom") == {"error": "internal error handling 'boom'"}
    log = notes_server.log_text()[before:]  # written before the answer was sent
    assert log.count("RuntimeError: the secret internals of the server") == 1
    assert log.count("Traceback (most recent call last)") == 1
    assert "of event 'boom' raised" in log


def test_a_payload_its_schema_refuses_names_the_field_in_the_browser(page, notes_server):
    """The order event's schema (a dataclass of lines): a call's rejection carries the field
    and the expected type in error.reply, a send's error event carries them too, and the
    receiver gets the checked values."""
    open_page(page, notes_server.url, "websocket")
    assert call(page, "order", {"lines": [{"sku": "tea", "qty": 2}, {"sku": "cake"}]}) == {
        "value": {"units": 3, "note": None}
    }
    rejected = page.evaluate(
        "() => sock.call('order', {lines: [{sku: 'tea', qty: 'two'}]})"
        ".then(() => null, (error) => ({message: error.message, event: error.event,"
        " reply: error.reply}))"
    )
    message = "event 'order': field 'lines[0].qty' must be int, not str"
    assert rejected == {
        "message": message,
        "event": "order",
        "reply": {"message": message, "field": "lines[0].qty", "expected": "int"},
    }
    page.evaluate("() => sock.send('order', {note: 'no lines'})")
    page.wait_for_function("() => errors.length > 0", timeout=5000)
    assert page.evaluate("() => errors") == [
        {
            "message": "event 'order': field 'lines' is required",
            "event": "order",
            "field": "lines",
            "expected": "list[Line]",
        }
    ]


def test_refused_calls_reject_as_sends_are_refused(page, notes_server):
    open_page(page, notes_server.url, "websocket")
    assert call(page, "nothing") == {"error": "unknown event 'nothing'"}
    assert call(page, "add", {"a": 1, "b": 2, "c": 3}) == {"error": "event 'add' does not accept c"}


@pytest.mark.timeout(90)
@pytest.mark.parametrize("transport", ["websocket", "xhr-polling"])
def test_a_call_during_a_reconnect_resolves_after_it_or_rejects_never_hangs(
    browser, notes_server, transport
):
    proxy = CuttableProxy(notes_server.port)
    page = browser.new_page()
    try:
        open_page(page, proxy.url, transport)
        # A call out when the network goes: it may have run, so it is rejected, not resent.
        page.evaluate("() => { window.out = settle(sock.call('slow', {seconds: 2})); }")
        proxy.cut()
        assert page.evaluate("out") == {"error": "disconnected"}
        page.wait_for_selector("body[data-state=reconnecting]", timeout=20000)
        # A call made while reconnecting goes out once the socket is open again.
        page.evaluate("() => { window.later = settle(sock.call('add', {a: 20, b: 22})); }")
        proxy.restore()
        assert page.evaluate("later") == {"value": 42}
        # And one that cannot be answered in time is rejected by its timeout.
        proxy.cut()
        page.wait_for_selector("body[data-state=reconnecting]", timeout=20000)
        assert call(page, "add", {"a": 1, "b": 1}, timeout=500) == {"error": "timeout"}
    finally:
        page.close()
        proxy.close()


def saved(page, count, timeout=15000):
    page.wait_for_function("n => seen.length >= n", arg=count, timeout=timeout)
    return page.evaluate("seen")


@pytest.mark.timeout(90)
@pytest.mark.parametrize("transport", ["websocket", "xhr-polling"])
def test_a_note_saved_in_a_transaction_reaches_the_page_after_commit_only(
    browser, notes_on_redis, transport, request
):
    """Two workers and Redis: the view that saves may run on either worker, the page's socket
    on either; so may a management command in a process of its own."""
    if request.node.callspec.params["notes_on_redis"] == "cluster":
        pytest.skip("on one Redis only: the commit is what this tests, not the topology")
    pages = [browser.new_page() for _ in range(3)]  # pages on both workers, most likely
    try:
        for page in pages:
            open_page(page, notes_on_redis.url, transport)
        viewer = pages[0]
        viewer.request.get(notes_on_redis.url + "/save/rolled-view/?rollback=1")
        viewer.request.get(notes_on_redis.url + "/save/kept-view/")
        manage(notes_on_redis.env, "save_note", "rolled-command", "--rollback")
        manage(notes_on_redis.env, "save_note", "kept-command")
        for page in pages:
            seen = saved(page, 2)
            texts = [text for text, _ in seen]
            # Never the rolled-back ones: they were sent first, and would have come first.
            assert sorted(texts) == ["kept-command", "kept-view"], seen
            # Each came after its commit: the database already had it when the event arrived.
            for text, in_database in seen:
                assert text in in_database
    finally:
        for page in pages:
            page.close()
