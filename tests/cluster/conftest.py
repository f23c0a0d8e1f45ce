"""Four gunicorn workers sharing HTTP sessions through a private redis-server."""

from __future__ import annotations

import pytest

from tests.support.servers import GunicornServer


@pytest.fixture(scope="module")
def redis_for_cluster():
    from tests.support.servers import RedisServer

    with RedisServer() as server:
        yield server


@pytest.fixture(scope="module")
def echo_cluster(redis_for_cluster):
    env = {"CLIENTSIGNAL_ECHO_REDIS": redis_for_cluster.url}
    with GunicornServer("clientsignal.echo:application", workers=4, env=env) as server:
        yield server
