"""Shared fixtures: real servers (gunicorn, redis-server) and a real headless Chromium."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.support.servers import GunicornServer, RedisServer

CHROMIUM = os.environ.get("CLIENTSIGNAL_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: real sockjs-client in headless Chromium")
    config.addinivalue_line("markers", "node: drives the real sockjs-client from Node")
    config.addinivalue_line("markers", "redis: starts its own redis-server")


@pytest.fixture(scope="session")
def echo_server() -> Iterator[GunicornServer]:
    """The protocol suite's four services under gunicorn, one gevent-websocket worker."""
    with GunicornServer("clientsignal.echo:application", workers=1) as server:
        yield server


@pytest.fixture(scope="session")
def echo_server_multi() -> Iterator[GunicornServer]:
    with GunicornServer("clientsignal.echo:application", workers=2) as server:
        yield server


@pytest.fixture(scope="session")
def redis_for_cluster() -> Iterator[RedisServer]:
    with RedisServer() as server:
        yield server


@pytest.fixture(scope="session")
def echo_cluster() -> Iterator[GunicornServer]:
    """The same services on four workers sharing HTTP sessions through a redis-server of their
    own (``server.redis``); the protocol tests run against it too."""
    with RedisServer() as redis:
        env = {"CLIENTSIGNAL_ECHO_REDIS": redis.url}
        with GunicornServer("clientsignal.echo:application", workers=4, env=env) as server:
            server.redis = redis  # type: ignore[attr-defined]
            yield server


@pytest.fixture(scope="session")
def echo_on_redis_cluster() -> Iterator[GunicornServer]:
    """``echo_cluster``'s four workers sharing HTTP sessions through a private three-master
    Redis Cluster (``server.redis``) instead of one redis-server."""
    from tests.support.redis_cluster import RedisClusterServers

    with RedisClusterServers() as redis:
        env = {"CLIENTSIGNAL_ECHO_REDIS": redis.url}
        with GunicornServer("clientsignal.echo:application", workers=4, env=env) as server:
            server.redis = redis  # type: ignore[attr-defined]
            yield server


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    with RedisServer() as server:
        yield server


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: object) -> Iterator[object]:
    context = browser.new_context()  # type: ignore[attr-defined]
    page = context.new_page()
    yield page
    context.close()
