"""Where Redis is, and how to reach it: the one place that makes Redis clients.

A backend URL names a topology: ``redis://``, ``rediss://`` and ``unix://`` one server
(:class:`SingleServer`); ``redis+sentinel://`` a master and its replicas watched by Sentinel
(:class:`.sentinel.SentinelTopology`); ``redis+cluster://`` a Redis Cluster
(:class:`.cluster.ClusterTopology`). A topology makes the publisher's client (a pool that many
greenlets share: one waits for a free connection rather than failing when many publish at
once) and each connection of the subscriber, says how the backend's names travel (its
:class:`.routing.Routing`), and says what it is for the stats.
"""

from __future__ import annotations

from typing import Any

import redis

from .routing import Routing
from .url import CLUSTER_SCHEMES, parse_url, safe_url


class Topology:
    """How to reach one Redis deployment."""

    kind = ""
    routing = Routing()
    """How the backend's channels and keys travel (one server's, unless the topology's own)."""

    def __init__(self, url: str, *, command_timeout: float, pool_size: int, pool_wait: float):
        self.url = url
        self.command_timeout = command_timeout
        self.pool_size = pool_size
        self.pool_wait = pool_wait

    def publisher(self) -> redis.Redis:
        """The client every command of this process goes through (a bounded pool)."""
        raise NotImplementedError

    def subscriber(self) -> redis.Redis:
        """A new client for one connection of the subscriber (closed when it is lost)."""
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        """What the stats show of it (never a password)."""
        raise NotImplementedError


class SingleServer(Topology):
    """One Redis server."""

    kind = "single"

    def publisher(self) -> redis.Redis:
        pool = redis.BlockingConnectionPool.from_url(
            self.url,
            max_connections=self.pool_size,
            timeout=self.pool_wait,
            socket_timeout=self.command_timeout,
            health_check_interval=10,
            **self._tcp_options(),
        )
        return redis.Redis(connection_pool=pool)

    def subscriber(self) -> redis.Redis:
        return redis.Redis.from_url(
            self.url,
            socket_timeout=self.command_timeout,
            health_check_interval=10,
            **self._tcp_options(keepalive=True),
        )

    def _tcp_options(self, keepalive: bool = False) -> dict[str, Any]:
        """The options of a TCP connection (a connect timeout; TCP keepalive, which notices a
        peer gone silent): none for a unix socket, whose connection class refuses them in
        redis-py (the connect timeout before 5.0)."""
        if parse_url(self.url)["path"]:
            return {}
        options: dict[str, Any] = {"socket_connect_timeout": self.command_timeout}
        if keepalive:
            options["socket_keepalive"] = True
        return options

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, "server": safe_url(self.url), "failovers": 0}


def topology(url: str, **settings: Any) -> Topology:
    """The topology a backend URL names (raises ValueError with what is wrong)."""
    parsed = parse_url(url)
    if parsed["sentinels"]:
        from .sentinel import SentinelTopology

        return SentinelTopology(url, **settings)
    if parsed["scheme"] in CLUSTER_SCHEMES:
        from .cluster import ClusterTopology

        return ClusterTopology(url, **settings)
    return SingleServer(url, **settings)
