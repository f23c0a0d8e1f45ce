"""Test namespaces (clientsignal.testing.isolation) and wait_delivered(), on a real
redis-server: each test's channels and keys apart from every other's, deleted after it; what
was published delivered before a connection opens and before receive_nothing() answers."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from django.test import override_settings

from clientsignal import backends
from clientsignal.backends.redis import RedisBackend
from clientsignal.testing import SignalCommunicator, isolation, wait_delivered
from tests.support.servers import RedisServer
from tests.testing import rooms

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
def on_redis(redis_server: RedisServer) -> Iterator[RedisServer]:
    with override_settings(
        CLIENTSIGNAL_BACKEND=redis_server.url, CLIENTSIGNAL_CONNECTIONS=rooms.CONNECTIONS
    ):
        yield redis_server


def notice(text: str) -> tuple[str, dict]:
    return ("notice", {"text": text, "sender": None})


def test_every_test_has_a_namespace_of_its_own(signal_namespace: str) -> None:
    assert signal_namespace == isolation.active()
    assert signal_namespace.startswith("test-")
    channel = backends.get_backend(None).channel("room")
    assert channel == "clientsignal:%s:room" % signal_namespace


def test_a_forked_process_begins_a_namespace_of_its_own(signal_namespace: str) -> None:
    pid = os.fork()
    if pid == 0:  # a worker of manage.py test --parallel, say
        os._exit(0 if isolation.active() is None and isolation.ensure() != signal_namespace else 1)
    assert os.waitpid(pid, 0)[1] == 0
    assert isolation.active() == signal_namespace


def test_a_namespace_goes_after_the_channel_prefix() -> None:
    backends.set_namespace("ns")
    options = {"CHANNEL_PREFIX": "app"}
    assert backends.get_backend(None, options).channel("room") == "app:ns:room"
    backends.set_namespace("ns")
    assert backends.get_backend(None, {"CHANNEL_PREFIX": ""}).channel("room") == "ns:room"
    backends.set_namespace(None)
    assert backends.get_backend(None).channel("room") == "clientsignal:room"


def test_purge_deletes_the_keys_of_its_prefix_only(redis_server: RedisServer) -> None:
    mine = RedisBackend(redis_server.url, {"CHANNEL_PREFIX": "app:t1"})
    others = [
        RedisBackend(redis_server.url, {"CHANNEL_PREFIX": prefix})
        for prefix in ("app:t10", "app", "app:t1x")
    ]
    glob = RedisBackend(redis_server.url, {"CHANNEL_PREFIX": "a[p]p*"})
    try:
        for backend in (mine, *others, glob):
            for name in ("room|presence", "group:x|stream", "history|life"):
                backend.client.set(backend.channel(name), 1)
        assert mine.purge() == 3
        assert glob.purge() == 3  # its own, taken literally: not app's
        left = sorted(key.decode() for key in mine.client.keys("*"))
        assert left == sorted(b.channel(n) for b in others for n in (
            "room|presence", "group:x|stream", "history|life"))  # fmt: skip
    finally:
        for backend in (mine, *others, glob):
            backend.close()


def test_a_change_of_backend_settings_ends_the_namespace_and_its_keys(
    redis_server: RedisServer, signal_namespace: str
) -> None:
    with override_settings(CLIENTSIGNAL_BACKEND=redis_server.url):
        first = isolation.active()
        assert first is not None and first != signal_namespace
        backend = rooms.RoomConnection.get_backend()
        backend.client.set(backend.channel("kept"), 1)
        with override_settings(CLIENTSIGNAL_BACKEND_OPTIONS={"CHANNEL_PREFIX": "app"}):
            second = isolation.active()
            assert second not in (None, first)
            assert rooms.RoomConnection.get_backend().channel("x") == "app:%s:x" % second
        assert backend.client.keys("*") == []


def test_the_test_namespace_is_deleted_after_the_test(redis_server: RedisServer) -> None:
    with override_settings(CLIENTSIGNAL_BACKEND=redis_server.url):
        backend = rooms.RoomConnection.get_backend()
        backend.client.set(backend.channel("kept"), 1)
        client = backend.client
        assert isolation.end() == 1
        assert client.keys("*") == []
        assert isolation.active() is None


def test_wait_delivered_returns_once_the_message_is_here(on_redis: RedisServer) -> None:
    with SignalCommunicator("/moderated") as visitor:
        rooms.notice.send(sender=None, text="hello")
        wait_delivered()
        assert visitor.receive(timeout=0) == notice("hello")


def test_a_connection_gets_nothing_published_before_it_opened(on_redis: RedisServer) -> None:
    with SignalCommunicator("/moderated") as first:
        for n in range(20):
            rooms.notice.send(sender=None, text="before %d" % n)
        with SignalCommunicator("/moderated") as second:
            assert second.receive_nothing()
            rooms.notice.send(sender=None, text="after")
            assert second.receive() == notice("after")
        assert [first.receive().data["text"] for _ in range(21)][-1] == "after"


def test_receive_nothing_counts_what_is_on_its_way(on_redis: RedisServer) -> None:
    with SignalCommunicator("/moderated") as visitor:
        rooms.notice.send(sender=None, text="on its way")
        assert not visitor.receive_nothing(timeout=0)
        assert visitor.receive(timeout=0) == notice("on its way")
