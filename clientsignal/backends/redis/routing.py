"""How the backend's channels and keys travel over one Redis server: a channel is a Redis
channel of the same name (``PUBLISH``), each class's channel is subscribed to by name, and the
targeted channels (groups, users, connections, logins) reach every process by pattern. A Redis
Cluster routes them otherwise (:class:`.cluster.ShardedRouting`); the backend asks its
topology's routing and never the deployment."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import redis
from redis.exceptions import RedisClusterException

REDIS_ERRORS = (redis.RedisError, OSError, RedisClusterException)
"""What a failed command raises: a cluster's client raises RedisClusterException too (no node
reachable, a slot nobody serves during a failover)."""

TARGETS = ("group", "user", "connection", "login")


class Routing:
    """One server: every key and channel is reachable from every connection."""

    sharded = False
    publish_command = "PUBLISH"

    def channel(self, prefix: str, name: str) -> str:
        """The Redis name of the backend's ``name`` (a channel, or a key's stem)."""
        return "%s:%s" % (prefix, name) if prefix else name

    def beside(self, channel: str, key: str) -> str:
        """``key`` (a full name) where a script that touches ``channel``'s keys may touch it
        too. On one server, anywhere: the key as it is."""
        return key

    def patterns(self, prefix: str) -> tuple[str, ...]:
        """What every process subscribes to besides its classes' channels and its inbox."""
        return tuple(self.channel(prefix, "%s:*" % kind) for kind in TARGETS)

    def subscribed_by_name(self, channel: str, targeted: tuple[str, ...]) -> bool:
        """Whether a process subscribes to ``channel`` by name to receive it (targeted
        channels arrive through the patterns)."""
        return not channel.startswith(targeted)

    def catch_up(self, name: str, pattern: bool) -> tuple[str, bool]:
        """The channels a subscription to ``name`` brings back after an outage: ``(name,
        False)`` for that one channel, ``(prefix*, True)`` for a pattern's."""
        return name, pattern

    def wire(self, channel: str) -> tuple[str, str]:
        """The Redis channel a message of ``channel`` is published on, and what goes before
        its envelope's bytes there ("" on one server)."""
        return channel, ""

    def received(self, channel: bytes, data: bytes) -> tuple[str, bytes]:
        """The backend channel and the envelope's bytes of a message read from Redis."""
        return channel.decode("utf-8"), data

    def publish(self, client: Any, channel: str, data: bytes) -> int:
        """Publish ``data`` to ``channel`` (its wire channel); how many processes heard it."""
        wired, header = self.wire(channel)
        return int(client.publish(wired, header.encode("utf-8") + data))

    def post(self, client: Any, inbox: str, data: bytes) -> int:
        """Post ``data`` to a worker's ``inbox`` channel; how many processes heard it."""
        return int(client.publish(inbox, data))

    def groups(self, channels: Iterable[str]) -> dict[str, list[str]]:
        """``channels`` grouped by where their keys are, each group for one script call or
        one pipeline (one server: one group)."""
        return {"": list(channels)}

    def client_for(self, client: redis.Redis, channel: str) -> redis.Redis:
        """A client for a pipeline of commands on ``channel``'s keys (with TIME): the
        server's."""
        return client
