"""Every Redis connection of a process busy (a burst of publishers on a busy CPU) fails the
command that waited too long, and only that one: Redis is not marked away for the others."""

from __future__ import annotations

import logging
import uuid

import pytest

from clientsignal.backends import Envelope
from clientsignal.backends.redis import RedisBackend
from clientsignal.backends.redis import backend as redis_backend

pytestmark = pytest.mark.redis


@pytest.mark.timeout(20)
def test_a_busy_pool_is_not_redis_away(redis_server, monkeypatch, caplog):
    monkeypatch.setattr(redis_backend, "PUBLISH_CONNECTIONS", 2)
    monkeypatch.setattr(redis_backend, "POOL_WAIT", 0.2, raising=False)
    backend = RedisBackend(redis_server.url, {"CHANNEL_PREFIX": "p" + uuid.uuid4().hex[:6]})
    try:
        pool = backend.client.connection_pool
        held = [pool.get_connection() for _ in range(2)]
        with caplog.at_level(logging.WARNING, "clientsignal.backends.redis"):
            backend.publish(backend.channel("x"), Envelope('"{}"', "x"))
            backend.publish(backend.channel("x"), Envelope('"{}"', "x"))
        assert backend.available() and backend.state != "disconnected"
        assert backend.stats["pool_busy"] == 2
        assert caplog.text.count("Redis connections of this process stayed busy") == 1
        for connection in held:
            pool.release(connection)
        published = backend.stats["published"]
        backend.publish(backend.channel("x"), Envelope('"{}"', "x"))
        assert backend.stats["published"] == published + 1
    finally:
        backend.close()
