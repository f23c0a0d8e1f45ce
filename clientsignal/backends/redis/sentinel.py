"""A Redis deployment watched by Sentinel: ``redis+sentinel://h1:26379,h2:26379/mymaster/0``.

Every client this topology makes asks the sentinels where the master is when it connects, and
again after it lost its connection, so that publishes, the subscriber, session ownership,
presence and history follow the master through a failover. A connection to a master that was
demoted answers writes with READONLY: redis-py drops it and asks again.

What a failover means for the backend is what a Redis restart means (see .backend): the
subscriber loses its connection and catches up when it is subscribed again, from the new
master's streams, with a ``gap`` where they miss what it delivered (the writes the replica had
not received when it was promoted are lost: see .history's catch-up).
"""

from __future__ import annotations

import logging
from typing import Any

import redis
from redis.sentinel import Sentinel, SentinelConnectionPool

from .topology import Topology
from .url import parse_url

logger = logging.getLogger("clientsignal.backends.redis")


class _BlockingSentinelPool(SentinelConnectionPool, redis.BlockingConnectionPool):
    """The master's connections, a bounded pool that one waits for when all are busy (as
    :class:`~.topology.SingleServer`'s)."""


class _WatchedSentinel(Sentinel):
    """redis-py's Sentinel client, telling its topology each master address it is given."""

    def __init__(self, topology: SentinelTopology, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.topology = topology

    def discover_master(self, service_name: str) -> tuple[str, int]:
        address = super().discover_master(service_name)
        self.topology.master_found((str(address[0]), int(address[1])))
        return address


class SentinelTopology(Topology):
    """A master and its replicas, found through Sentinel."""

    kind = "sentinel"

    def __init__(self, url: str, **settings: Any) -> None:
        super().__init__(url, **settings)
        parsed = parse_url(url)
        self.service: str = parsed["service"]
        self.sentinels: list[tuple[str, int]] = parsed["sentinels"]
        options = parsed["options"]
        tls: dict[str, Any] = {}
        if parsed["ssl"]:
            tls = {"ssl": True, "ssl_cert_reqs": options.get("ssl_cert_reqs", "required")}
            if "ssl_ca_certs" in options:
                tls["ssl_ca_certs"] = options["ssl_ca_certs"]
        timeouts = {
            "socket_connect_timeout": self.command_timeout,
            "socket_timeout": self.command_timeout,
        }
        self._master_kwargs: dict[str, Any] = {
            "username": parsed["username"],
            "password": parsed["password"],
            "db": parsed["db"],
            **timeouts,
            **tls,
        }
        sentinel_kwargs: dict[str, Any] = {
            "username": options.get("sentinel_username"),
            "password": options.get("sentinel_password"),
            **timeouts,
            **tls,
        }
        self.sentinel = _WatchedSentinel(self, self.sentinels, sentinel_kwargs=sentinel_kwargs)
        self.master: tuple[str, int] | None = None
        self.failovers = 0

    def publisher(self) -> redis.Redis:
        return self.sentinel.master_for(
            self.service,
            connection_pool_class=_BlockingSentinelPool,
            max_connections=self.pool_size,
            timeout=self.pool_wait,
            health_check_interval=10,
            **self._master_kwargs,
        )

    def subscriber(self) -> redis.Redis:
        return self.sentinel.master_for(
            self.service,
            socket_keepalive=True,
            health_check_interval=10,
            **self._master_kwargs,
        )

    def master_found(self, address: tuple[str, int]) -> None:
        """The sentinels said where the master is: a failover if it moved."""
        if address == self.master:
            return
        previous, self.master = self.master, address
        if previous is None:
            logger.info("Redis Sentinel: the master of %r is at %s:%d", self.service, *address)
            return
        self.failovers += 1
        logger.warning(
            "Redis Sentinel: the master of %r moved from %s:%d to %s:%d (failover %d seen by "
            "this process)",
            self.service,
            *previous,
            *address,
            self.failovers,
        )

    def describe(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "service": self.service,
            "sentinels": ["%s:%d" % address for address in self.sentinels],
            "master": "%s:%d" % self.master if self.master else None,
            "failovers": self.failovers,
        }
