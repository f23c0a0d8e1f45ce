"""A Redis Sentinel deployment for tests: a master, a replica and three sentinels, each a real
``redis-server`` (``--sentinel`` for the sentinels) on a free port, waited for by polling.

The sentinels watch the master under :data:`SERVICE` with small timeouts (the master is
subjectively down after :data:`DOWN_AFTER_MS` without an answer), so that a failover after a
kill takes a few seconds, not the thirty of the defaults.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import redis

from .servers import RedisServer, _Process, wait_for

SERVICE = "mymaster"
DOWN_AFTER_MS = 500
FAILOVER_TIMEOUT_MS = 2000


class ReplicaServer(RedisServer):
    """A private ``redis-server`` replicating ``master``."""

    name = "redis-replica"

    def __init__(self, master: RedisServer) -> None:
        super().__init__()
        self.master = master

    def command(self) -> list[str]:
        return [*super().command(), "--replicaof", "127.0.0.1", str(self.master.port)]

    def synced(self) -> bool:
        info = redis.Redis(port=self.port, socket_timeout=1).info("replication")
        return info.get("master_link_status") == "up"


class SentinelServer(_Process):
    """``redis-server sentinel.conf --sentinel`` watching ``master`` (its config file is its
    own: a sentinel rewrites it)."""

    name = "redis-sentinel"

    def __init__(self, master: RedisServer) -> None:
        super().__init__()
        self.master = master
        self._dir = tempfile.mkdtemp(prefix="clientsignal-sentinel-")
        self.config = Path(self._dir) / "sentinel.conf"
        self.config.write_text(
            "port %d\n"
            "bind 127.0.0.1\n"
            "dir %s\n"
            "sentinel monitor %s 127.0.0.1 %d 2\n"
            "sentinel down-after-milliseconds %s %d\n"
            "sentinel failover-timeout %s %d\n"
            "sentinel parallel-syncs %s 1\n"
            % (
                self.port,
                self._dir,
                SERVICE,
                master.port,
                SERVICE,
                DOWN_AFTER_MS,
                SERVICE,
                FAILOVER_TIMEOUT_MS,
                SERVICE,
            )
        )

    def command(self) -> list[str]:
        return [shutil.which("redis-server") or "redis-server", str(self.config), "--sentinel"]

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_timeout=1, decode_responses=True)

    def state(self) -> dict:
        """What this sentinel knows of the master (``SENTINEL MASTER``)."""
        return self.client().sentinel_master(SERVICE)

    def master_address(self) -> tuple[str, int] | None:
        found = self.client().sentinel_get_master_addr_by_name(SERVICE)
        return (found[0], int(found[1])) if found else None


class SentinelDeployment:
    """A master, its replica and three sentinels; ``url`` is the backend URL naming them."""

    def __init__(self) -> None:
        self.master = RedisServer()
        self.replica = ReplicaServer(self.master)
        self.sentinels = [SentinelServer(self.master) for _ in range(3)]

    @property
    def url(self) -> str:
        hosts = ",".join("127.0.0.1:%d" % sentinel.port for sentinel in self.sentinels)
        return "redis+sentinel://%s/%s/0" % (hosts, SERVICE)

    def start(self) -> SentinelDeployment:
        self.master.start()
        self.replica.start()
        wait_for(self.replica.synced, 20, "the replica to sync")
        for sentinel in self.sentinels:
            sentinel.start()
        # A failover needs a quorum that knows the replica and each other (they meet through
        # hello messages on the master every two seconds).
        wait_for(self._watching, 30, "the sentinels to know the replica and each other")
        return self

    def _watching(self) -> bool:
        for sentinel in self.sentinels:
            state = sentinel.state()
            if int(state["num-slaves"]) < 1 or int(state["num-other-sentinels"]) < 2:
                return False
        return True

    def wait_failover(self, timeout: float = 30) -> tuple[str, int]:
        """Wait until every sentinel names the replica the master; its address."""
        promoted = ("127.0.0.1", self.replica.port)
        wait_for(
            lambda: all(s.master_address() == promoted for s in self.sentinels),
            timeout,
            "the sentinels to promote the replica",
        )
        return promoted

    def stop(self) -> None:
        for process in [*self.sentinels, self.replica, self.master]:
            process.stop()

    def __enter__(self) -> SentinelDeployment:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()
