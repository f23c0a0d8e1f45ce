"""A private Redis Cluster on free ports: ``masters`` redis-servers started with
``--cluster-enabled yes`` (and ``replicas`` replicas of each), joined by ``redis-cli --cluster
create``, ready once every node says ``cluster_state:ok``. Kill a master (``kill_master``) and
its replica takes over after ``node_timeout`` ms (the cluster is ready only once every replica
is in sync, so it can)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.support.servers import RedisServer, free_port, wait_for


class ClusterNode(RedisServer):
    """One node of the cluster: a redis-server with cluster mode on."""

    name = "redis-cluster-node"

    def __init__(self, node_timeout: int) -> None:
        super().__init__()
        self.node_timeout = node_timeout
        self.bus_port = free_port()  # its cluster bus (else the port + 10000, maybe taken)

    def command(self) -> list[str]:
        return [
            *super().command(),
            "--cluster-enabled", "yes",
            "--cluster-config-file", str(Path(self._dir) / "nodes.conf"),
            "--cluster-node-timeout", str(self.node_timeout),
            "--cluster-port", str(self.bus_port),
            "--repl-diskless-sync-delay", "0",  # a replica in sync at once, not after 5 s
        ]  # fmt: skip

    def cli(self, *args: str, timeout: float = 10) -> str:
        """``redis-cli`` against this node; its output."""
        return subprocess.run(
            [shutil.which("redis-cli") or "redis-cli", "-p", str(self.port), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=True,
        ).stdout


class RedisClusterServers:
    """The cluster's nodes, each a :class:`ClusterNode`; ``url`` is the backend URL."""

    def __init__(self, masters: int = 3, replicas: int = 0, node_timeout: int = 1000) -> None:
        self.nodes = [ClusterNode(node_timeout) for _ in range(masters * (1 + replicas))]
        taken: set[int] = set()
        for node in self.nodes:  # no port twice: free_port() may give one again once closed
            while node.port in taken:
                node.port = free_port()
            taken.add(node.port)
            while node.bus_port in taken:
                node.bus_port = free_port()
            taken.add(node.bus_port)
        self.masters = masters
        self.replicas = replicas
        self._dir = tempfile.mkdtemp(prefix="clientsignal-cluster-")

    @property
    def url(self) -> str:
        return "redis+cluster://" + ",".join("127.0.0.1:%d" % n.port for n in self.nodes[:3])

    def start(self) -> RedisClusterServers:
        try:
            for node in self.nodes:
                self._start(node)
            subprocess.run(
                [
                    shutil.which("redis-cli") or "redis-cli",
                    "--cluster",
                    "create",
                    *("127.0.0.1:%d" % node.port for node in self.nodes),
                    "--cluster-replicas",
                    str(self.replicas),
                    "--cluster-yes",
                ],  # fmt: skip
                capture_output=True,
                text=True,
                timeout=60,
                check=True,
            )
            wait_for(self.ready, 30, "the cluster's state to be ok on every node")
        except Exception:
            self.stop()
            raise
        return self

    def _start(self, node: ClusterNode, attempts: int = 3) -> None:
        """Start ``node``; on other free ports if another process took one meanwhile."""
        for attempt in range(attempts):
            try:
                node.start()
                return
            except RuntimeError as error:
                if "Address already in use" not in str(error) or attempt == attempts - 1:
                    raise
                ports = {n.port for n in self.nodes} | {n.bus_port for n in self.nodes}
                node.port, node.bus_port = free_port(), free_port()
                while node.port in ports or node.bus_port in ports | {node.port}:
                    node.port, node.bus_port = free_port(), free_port()

    def ready(self) -> bool:
        live = [node for node in self.nodes if node.proc and node.proc.poll() is None]
        try:
            return (
                all("cluster_state:ok" in node.cli("cluster", "info") for node in live)
                and self._masters_known(live)
                and all(self._in_sync(node) for node in live)
            )
        except (subprocess.SubprocessError, OSError):
            return False

    def _in_sync(self, node: ClusterNode) -> bool:
        """A master, or a replica whose link to its master is up (one that never synced
        cannot take over)."""
        info = node.cli("info", "replication")
        return "role:master" in info or "master_link_status:up" in info

    def _masters_known(self, live: list[ClusterNode]) -> bool:
        """Every live node sees every slot served by a live master."""
        ports = {str(node.port) for node in live}
        for node in live:
            for line in node.cli("cluster", "nodes").splitlines():
                fields = line.split()
                if "master" in fields[2] and "fail" not in fields[2] and len(fields) > 8:
                    if fields[1].split("@")[0].rsplit(":", 1)[1] not in ports:
                        return False
        return True

    def master_of(self, key: str) -> ClusterNode:
        """The node that serves ``key``'s slot now."""
        asked = next(node for node in self.nodes if node.proc and node.proc.poll() is None)
        slot = int(asked.cli("cluster", "keyslot", key))
        for line in asked.cli("cluster", "nodes").splitlines():
            fields = line.split()
            if "master" not in fields[2] or "fail" in fields[2]:
                continue
            for spec in fields[8:]:
                low, _, high = spec.partition("-")
                if low.isdigit() and int(low) <= slot <= int(high or low):
                    port = int(fields[1].split("@")[0].rsplit(":", 1)[1])
                    return next(node for node in self.nodes if node.port == port)
        raise LookupError("no master serves slot %d" % slot)

    def kill_master(self, key: str) -> ClusterNode:
        """Kill the master of ``key``'s slot (its replica takes over); the killed node."""
        node = self.master_of(key)
        node.kill()
        return node

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()

    def __enter__(self) -> RedisClusterServers:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
