"""Redis Cluster (``redis+cluster://h1:7000,h2:7001,...``): the backend spread over shards.

Every name the backend gives Redis carries a hash tag, ``<prefix>:{<tag>}:<name>``, one of
:data:`BUCKETS` tags chosen so that their slots are spread evenly over the 16384 (so over the
shards, however the slots are split): a channel's stream, its epoch and the history's life and
evicted keys of its bucket share a slot, so each script touches one slot, as Redis Cluster
requires.

Messages travel on sharded pub/sub (``SPUBLISH``/``SSUBSCRIBE``), which has no patterns: each
message of a channel is published on its bucket's shard channel (``<prefix>:{<tag>}``) with the
channel's name before the envelope, and every process subscribes to every bucket (as it
subscribes to the targeted channels' patterns on one server) and delivers to its own
connections. A worker's inbox is a shard channel of its own, so that ``SPUBLISH`` still says
whether anyone listens there. The subscriber has one connection per shard (per master), each
subscribed to the shard channels whose slots that master serves; when any of them fails (a
shard's failover, a node restarted, slots moved), the subscriber starts over from the
cluster's current layout, as on one server when Redis goes, history catching up after it.
"""

from __future__ import annotations

import re
import select
import zlib
from collections.abc import Iterable
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.cluster import ClusterNode, RedisCluster
from redis.crc import REDIS_CLUSTER_HASH_SLOTS, key_slot
from redis.retry import Retry

from .routing import REDIS_ERRORS, Routing
from .topology import Topology
from .url import parse_url, safe_url

BUCKETS = 64
"""Hash tags the backend's names are spread over: each a slot of its own, evenly spaced."""

_TAG = re.compile(r"\{([^{}]*)\}")


def _bucket_tags(count: int) -> list[str]:
    """``count`` short tags whose slots fall one in each of ``count`` equal slot ranges."""
    tags = []
    candidate = 0
    for bucket in range(count):
        low = bucket * REDIS_CLUSTER_HASH_SLOTS // count
        high = (bucket + 1) * REDIS_CLUSTER_HASH_SLOTS // count
        while not low <= key_slot(b"%d" % candidate) < high:
            candidate += 1
        tags.append(str(candidate))
        candidate = 0
    return tags


TAGS = _bucket_tags(BUCKETS)


class ShardedRouting(Routing):
    """Names hash-tagged by bucket, messages on each bucket's shard channel."""

    sharded = True
    publish_command = "SPUBLISH"

    def channel(self, prefix: str, name: str) -> str:
        tag = TAGS[zlib.crc32(name.encode("utf-8")) % BUCKETS]
        return "%s:{%s}:%s" % (prefix, tag, name) if prefix else "{%s}:%s" % (tag, name)

    def beside(self, channel: str, key: str) -> str:
        return _TAG.sub("{%s}" % _tag(channel), key, count=1)

    def patterns(self, prefix: str) -> tuple[str, ...]:
        return tuple("%s:{%s}" % (prefix, tag) if prefix else "{%s}" % tag for tag in TAGS)

    def subscribed_by_name(self, channel: str, targeted: tuple[str, ...]) -> bool:
        return False  # every channel arrives through its bucket

    def catch_up(self, name: str, pattern: bool) -> tuple[str, bool]:
        return (name + ":*", True) if pattern else (name, False)

    def wire(self, channel: str) -> tuple[str, str]:
        bucket = channel[: channel.index("}") + 1]
        return bucket, "%d:%s" % (len(channel.encode("utf-8")), channel)

    def received(self, channel: bytes, data: bytes) -> tuple[str, bytes]:
        size, _, rest = data.partition(b":")
        length = int(size)
        return rest[:length].decode("utf-8"), rest[length:]

    def publish(self, client: Any, channel: str, data: bytes) -> int:
        wired, header = self.wire(channel)
        return int(client.spublish(wired, header.encode("utf-8") + data))

    def post(self, client: Any, inbox: str, data: bytes) -> int:
        return int(client.spublish(inbox, data))

    def groups(self, channels: Iterable[str]) -> dict[str, list[str]]:
        grouped: dict[str, list[str]] = {}
        for channel in channels:
            grouped.setdefault(_tag(channel), []).append(channel)
        return grouped

    def client_for(self, client: redis.Redis, channel: str) -> redis.Redis:
        cluster: Any = client
        return cluster.get_redis_connection(cluster.get_node_from_key(channel))


def _tag(name: str) -> str:
    match = _TAG.search(name)
    return match.group(1) if match else name


class ClusterTopology(Topology):
    """A Redis Cluster, reached through some of its nodes."""

    kind = "cluster"
    routing = ShardedRouting()

    def __init__(self, url: str, **settings: Any) -> None:
        super().__init__(url, **settings)
        parsed = parse_url(url)
        self.nodes: list[tuple[str, int]] = parsed["nodes"]
        self.connection = {
            "username": parsed["username"],
            "password": parsed["password"],
            "ssl": parsed["ssl"],
            "socket_connect_timeout": self.command_timeout,
            "socket_timeout": self.command_timeout,
        }
        self._publisher: RedisCluster | None = None
        self.failovers = 0
        """Times a master of the layout last seen was gone from the next (for the stats)."""
        self._masters: set[str] = set()

    def cluster(self, **more: Any) -> RedisCluster:
        """A new cluster client (it asks the given nodes for the cluster's layout)."""
        return RedisCluster(
            startup_nodes=[ClusterNode(host, port) for host, port in self.nodes],
            retry=Retry(NoBackoff(), 1),  # once more, on the layout asked again
            **self.connection,
            **more,
        )

    def publisher(self) -> Any:
        # Per master, a pool as one server's: a burst of commands waits for a connection.
        self._publisher = self.cluster(
            max_connections=self.pool_size,
            connection_pool_class=redis.BlockingConnectionPool,
            timeout=self.pool_wait,
        )
        return self._publisher

    def subscriber(self) -> Any:
        return _ShardedSubscriber(self)

    def layout(self) -> RedisCluster:
        """The publisher's client, with the cluster's layout asked again (the subscriber
        (re)connecting: a failover or moved slots). Commands that bypass the client's own
        redirections (a pipeline on one node, see :meth:`ShardedRouting.client_for`) then go
        to the new masters too."""
        client = self._publisher if self._publisher is not None else self.publisher()
        client.nodes_manager.initialize()
        return client

    def seen(self, masters: set[str]) -> None:
        """The subscriber found these masters: a master of the last layout gone is a
        failover (or a node replaced)."""
        if self._masters and self._masters - masters:
            self.failovers += 1
        self._masters = masters

    def describe(self) -> dict[str, Any]:
        shards: dict[str, list[list[int]]] = {}
        client = self._publisher
        if client is not None:
            start, previous = 0, None
            for slot in range(REDIS_CLUSTER_HASH_SLOTS + 1):
                nodes = client.nodes_manager.slots_cache.get(slot)
                master = nodes[0].name if nodes else None
                if master != previous:
                    if previous is not None:
                        shards.setdefault(previous, []).append([start, slot - 1])
                    start, previous = slot, master
        return {
            "kind": self.kind,
            "server": safe_url(self.url),
            "shards": [{"master": name, "slots": slots} for name, slots in sorted(shards.items())],
            "failovers": self.failovers,
        }


class _ShardedSubscriber:
    """What :class:`.subscription.Subscription` takes for a client: its ``pubsub()`` is the
    subscriber's connections, one per master."""

    def __init__(self, topology: ClusterTopology) -> None:
        self.topology = topology
        self.cluster = topology.layout()
        self.listener = _ShardedListener(self)

    def pubsub(self) -> _ShardedListener:
        return self.listener

    def close(self) -> None:
        pass  # the publisher's client, which the backend closes


class _ShardedListener:
    """A ``PubSub`` over the shards: ``subscribe`` and ``psubscribe`` both ``SSUBSCRIBE`` each
    shard channel on the master of its slot; ``get_message`` reads whichever connection has
    something (a ``select`` over their sockets, cooperative under gevent). Any failure of a
    connection, and a shard that gives channels up (``sunsubscribe``: its slots moved), raises
    ``redis.ConnectionError``: the subscriber starts over from the cluster's layout then."""

    def __init__(self, subscriber: _ShardedSubscriber) -> None:
        self.subscriber = subscriber
        self.pubsubs: dict[str, Any] = {}
        self._clients: list[redis.Redis] = []
        self._next = 0
        cluster = subscriber.cluster
        subscriber.topology.seen({node.name for node in cluster.get_primaries()})

    def subscribe(self, *channels: str) -> None:
        cluster = self.subscriber.cluster
        by_node: dict[str, list[str]] = {}
        nodes = {}
        for channel in channels:
            node = cluster.get_node_from_key(channel)
            nodes[node.name] = node
            by_node.setdefault(node.name, []).append(channel)
        for name, wanted in by_node.items():
            pubsub = self.pubsubs.get(name)
            if pubsub is None:
                node = nodes[name]
                client = redis.Redis(
                    host=node.host,
                    port=node.port,
                    socket_keepalive=True,
                    health_check_interval=10,
                    **self.subscriber.topology.connection,
                )
                self._clients.append(client)
                pubsub = self.pubsubs[name] = client.pubsub()
            for channel in wanted:  # one SSUBSCRIBE may name channels of one slot only
                pubsub.ssubscribe(channel)

    psubscribe = subscribe

    def get_message(self, timeout: float) -> dict[str, Any] | None:
        message = self._ready()
        if message is None and self.pubsubs:
            sockets = [
                p.connection._sock
                for p in self.pubsubs.values()
                if p.connection is not None and p.connection._sock is not None
            ]
            if sockets:
                select.select(sockets, [], [], timeout)
            message = self._ready()
        if message is not None and message["type"] == "sunsubscribe":
            raise redis.ConnectionError("a shard gave up %r (its slots moved)" % message["channel"])
        return message

    def _ready(self) -> dict[str, Any] | None:
        """A message one of the connections has already, taking turns."""
        pubsubs = list(self.pubsubs.values())
        for turn in range(len(pubsubs)):
            pubsub = pubsubs[(self._next + turn) % len(pubsubs)]
            message = pubsub.get_message(timeout=0)
            if message is not None:
                self._next = (self._next + turn + 1) % len(pubsubs)
                return message
        return None

    def close(self) -> None:
        for pubsub in self.pubsubs.values():
            try:
                pubsub.close()
            except REDIS_ERRORS:
                pass
        for client in self._clients:
            client.close()
        self.pubsubs.clear()
