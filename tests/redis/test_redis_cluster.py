"""A Redis Cluster's shard fails over under two workers: the master that holds a history
class's stream is killed while an outside process publishes to it; the browsers' sockets stay
open, delivery resumes once the replica has taken over, and every client ends with every
message whose publish Redis took, or a ``gap`` where it missed some, never silence.

(Everything else a cluster does as one Redis does, the delivery tests of this folder show:
their ``project`` and ``redis_only`` fixtures run them on a three-master cluster too.)"""

from __future__ import annotations

import json
import time

import pytest

from tests.support.http import request
from tests.support.redis_cluster import RedisClusterServers
from tests.support.servers import GunicornServer, wait_for

from .conftest import PROJECT, open_clients, project_env, send_ticks

pytestmark = pytest.mark.redis

END = 99_999


def numbered_stream(cluster: RedisClusterServers) -> str:
    """The key of the history class's stream (made by its first publish), found on its
    master."""
    for node in cluster.nodes:
        for key in node.cli("--scan", "--pattern", "*HistoryConnection*|stream").split():
            return key
    raise LookupError("no stream of the history class")


def publish(cluster: RedisClusterServers, start: int, stop: int) -> list[int]:
    """Publish the numbered signal ``start`` to ``stop - 1`` from a plain process; those whose
    publish failed."""
    result = send_ticks(cluster.url, "numbered", start, stop)
    assert result.returncode == 0, result.stderr
    line = next(x for x in result.stdout.splitlines() if x.startswith("failed="))
    return json.loads(line.partition("=")[2])


def drain(client, log: list, until: int, timeout: float) -> bool:
    """Read ``client``'s numbered events and gaps into ``log`` until number ``until`` came
    (True) or ``timeout`` passed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            event = client.next_event(timeout=max(0.05, deadline - time.monotonic()))
        except TimeoutError:
            return False
        if event.get("event") == "gap":
            log.append("gap")
        elif event.get("event") == "numbered":
            log.append(event["data"]["n"])
            if event["data"]["n"] >= until:
                return True
    return False


def missed_silently(log: list, taken: list[int]) -> list[int]:
    """The numbers of ``taken`` a client neither got nor was told of (a gap after the last
    number it got before them)."""
    got = [item for item in log if item != "gap"]
    assert got == sorted(set(got)), "out of order or twice: %s" % log
    silent = []
    for n in taken:
        if n in got:
            continue
        before = max((i for i, x in enumerate(log) if x != "gap" and x < n), default=-1)
        after = min((i for i, x in enumerate(log) if x != "gap" and x > n), default=len(log))
        if "gap" not in log[before + 1 : after]:
            silent.append(n)
    return silent


@pytest.mark.timeout(240)
def test_a_shard_failover_resumes_delivery_with_every_message_or_a_gap():
    with (
        RedisClusterServers(masters=3, replicas=1) as cluster,
        GunicornServer(
            "redisproject.wsgi:application", workers=2, env=project_env(cluster.url), cwd=PROJECT
        ) as server,
    ):
        clients, pids = open_clients(server, 4, path="/history", per_worker=2)
        assert len(pids) == 2
        logs: list[list] = [[] for _ in clients]
        assert publish(cluster, 0, 5) == []
        taken = [0, 1, 2, 3, 4]
        for client, log in zip(clients, logs, strict=True):
            assert drain(client, log, 4, 15) and log == taken, log

        stream = numbered_stream(cluster)
        killed = cluster.kill_master(stream)
        down = time.monotonic()
        resumed = None
        n = 100
        while resumed is None:
            assert time.monotonic() - down < 90, "delivery did not resume"
            failed = publish(cluster, n, n + 3)
            taken += [x for x in range(n, n + 3) if x not in failed]
            if not failed:
                # Every client gets the whole batch live: delivery resumed.
                if all(drain(c, log, n + 2, 10) for c, log in zip(clients, logs, strict=True)):
                    resumed = time.monotonic() - down
            n += 3
        assert cluster.master_of(stream) is not killed
        for client in clients:  # the sockets stayed open through it all
            client.send("echo", {"text": "alive"})
        assert publish(cluster, END, END + 1) == []
        taken.append(END)
        for client, log in zip(clients, logs, strict=True):
            assert drain(client, log, END, 20), log
            assert missed_silently(log, taken) == [], log
        print("delivery resumed %.1f s after the shard's master was killed" % resumed)
        assert "answers again" in server.log_text()
        # The stats show the new layout: three masters, the killed one not among them, and a
        # failover seen.
        new = wait_for(lambda: _failed_over(server, killed.port), 20, "the stats' new layout")
        assert len(new["shards"]) == 3


def _failed_over(server, port):
    token = {"Authorization": "Bearer stats-token"}
    reply = request("GET", server.url + "/clientsignal/stats.json", headers=token)
    topology = json.loads(reply.body)["topology"]
    masters = {shard["master"] for shard in topology["shards"]}
    if topology["failovers"] >= 1 and "127.0.0.1:%d" % port not in masters:
        return topology
    return None
