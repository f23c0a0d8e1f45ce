"""``python -m bench`` (``make bench``): clientsignal against the floor of its own stack.

Every server runs under gunicorn with the gevent-websocket worker on 127.0.0.1; the load
generator (bench/loadgen.js, Node) runs in its own process and reports its own CPU use.
Scenarios, bounded in count and time:

1. broadcast fan-out, the websocket-shootout method: clients connect in steps, four
   concurrent broadcasts per round, round trip until every client has the message;
2. echo: messages per second and p99 latency, closed loop.

Ratios compare each server with the bare gevent-websocket floor measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.servers import GunicornServer, RedisServer, _Process  # noqa: E402

BENCH = Path(__file__).resolve().parent
LOADGEN = BENCH / "loadgen.js"


class NodePeer(_Process):
    """A Node peer server (bench/peers/) on a free port."""

    name = "node-peer"

    def __init__(self, script: str) -> None:
        super().__init__()
        self.script = script

    @property
    def url(self) -> str:
        return "http://127.0.0.1:%d" % self.port

    def command(self) -> list[str]:
        return ["node", str(BENCH / "peers" / self.script), str(self.port)]


def servers(workers_redis: bool):
    """(name, GunicornServer, websocket URL builder, mode) for each contender."""
    project = {"PYTHONPATH": os.pathsep.join([str(BENCH / "project"), str(ROOT)])}
    yield "gevent-websocket floor", GunicornServer("bench.floor:application"), "", "raw"
    yield "sockjs-node 0.3.24", NodePeer("sockjs_node.js"), "/bench", "sockjs"
    yield (
        "clientsignal, 1 worker",
        GunicornServer("benchproject.wsgi:application", env=project, cwd=BENCH / "project"),
        "/bench",
        "sockjs",
    )
    if workers_redis:
        redis = RedisServer().start()
        env = {**project, "CLIENTSIGNAL_BACKEND": redis.url}
        server = GunicornServer(
            "benchproject.wsgi:application", workers=2, env=env, cwd=BENCH / "project"
        )
        server.redis = redis  # type: ignore[attr-defined]
        yield "clientsignal, 2 workers + Redis", server, "/bench", "sockjs"


def loadgen(url: str, mode: str, scenario: str, clients: int, amount: int) -> dict:
    result = subprocess.run(
        ["node", str(LOADGEN), url, mode, scenario, str(clients), str(amount)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=320,
    )
    if result.returncode != 0:
        return {"clients": clients, "error": result.stderr.strip()[-300:]}
    return json.loads(result.stdout.strip().split("\n")[-1])


NOTE = (
    "Servers, Redis and the load generator share the machine's cores. Where the load "
    "generator's CPU is near 100 % of a core it, not the server, sets the pace, and the "
    "ratio says little. Each fan-out row has 4 × rounds samples, so p95 and p99 are "
    "close to the maximum."
)

MANY_CLIENTS = ROOT / "tests" / "node" / "many_clients.js"


def http_delivery(url: str, transport: str, clients: int, messages: int) -> dict:
    """Real sockjs-client clients echoing numbered messages: echoes per second, and whether
    every message came back once and in order."""
    started = time.monotonic()
    result = subprocess.run(
        ["node", str(MANY_CLIENTS), url, transport, str(clients), str(messages), "120000"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=150,
    )
    elapsed = time.monotonic() - started
    summary = json.loads(result.stdout.strip().split("\n")[-1])
    exact = summary["complete"] == clients and not (
        summary["lost"] or summary["duplicated"] or summary["outOfOrder"]
    )
    return {"perSecond": clients * messages / elapsed, "exact": exact}


def http_transports(clients: int, messages: int) -> list[tuple[str, str, dict]]:
    """xhr-polling and xhr-streaming on 1 worker, then on 4 workers sharing sessions."""
    rows = []
    with RedisServer() as redis:
        for name, workers, env in (
            ("1 worker", 1, {}),
            ("4 workers + Redis", 4, {"CLIENTSIGNAL_ECHO_REDIS": redis.url}),
        ):
            with GunicornServer(
                "clientsignal.echo:application", workers=workers, env=env
            ) as server:
                for transport in ("xhr-polling", "xhr-streaming"):
                    result = http_delivery(server.url + "/echo", transport, clients, messages)
                    print(name, transport, json.dumps(result), file=sys.stderr)
                    rows.append((name, transport, result))
    return rows


def fmt(value: float | None) -> str:
    return "—" if value is None else "%.1f" % value


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--steps", default="100,500,1000", help="client counts for fan-out")
    parser.add_argument("--rounds", type=int, default=5, help="rounds of 4 broadcasts per step")
    parser.add_argument("--echo-clients", default="100", help="client counts for echo")
    parser.add_argument("--echo-seconds", type=int, default=5)
    parser.add_argument("--no-redis", action="store_true", help="skip 2 workers + Redis")
    parser.add_argument("--http-clients", type=int, default=200, help="clients per HTTP run")
    parser.add_argument("--http-messages", type=int, default=50, help="messages per client")
    parser.add_argument("--write", action="store_true", help="write bench/RESULTS.md")
    args = parser.parse_args()
    steps = [int(n) for n in args.steps.split(",")]
    echo_clients = [int(n) for n in args.echo_clients.split(",")]

    rows_fanout, rows_echo = [], []
    floor: dict[tuple, dict] = {}
    for name, server, path, mode in servers(not args.no_redis):
        with server:
            url = server.url.replace("http://", "ws://") + path
            for clients in steps:
                result = loadgen(url, mode, "broadcast", clients, args.rounds)
                print(name, "fan-out", json.dumps(result), file=sys.stderr)
                floor.setdefault(("fanout", clients), result)
                rows_fanout.append((name, clients, result, floor[("fanout", clients)]))
                if result.get("error") or result.get("timedOut"):
                    break
            for clients in echo_clients:
                result = loadgen(url, mode, "echo", clients, args.echo_seconds)
                print(name, "echo", json.dumps(result), file=sys.stderr)
                floor.setdefault(("echo", clients), result)
                rows_echo.append((name, clients, result, floor[("echo", clients)]))
        if hasattr(server, "redis"):
            server.redis.stop()

    lines = [
        "Machine: %s, %d cores, Python %s, %s."
        % (platform.machine(), os.cpu_count() or 0, platform.python_version(), platform.system()),
        "",
        NOTE,
        "",
        "### Broadcast fan-out (4 concurrent broadcasts per round, ms until every client has it)",
        "",
        "| server | clients | p50 | p95 | p99 | p95 / floor | load generator CPU |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, clients, r, f in rows_fanout:
        ratio = r.get("p95") / f["p95"] if r.get("p95") and f.get("p95") else None
        lines.append(
            "| %s | %d | %s | %s | %s | %s | %s |"
            % (name, clients, fmt(r.get("p50")), fmt(r.get("p95")), fmt(r.get("p99")),
               "%.2f×" % ratio if ratio else r.get("error", "timed out")[:40],
               "%.0f%%" % (100 * r.get("generatorCpu", 0)))
        )  # fmt: skip
    lines += [
        "",
        "### Echo (closed loop, %d s)" % args.echo_seconds,
        "",
        "| server | clients | messages/s | p99 ms | throughput / floor | load generator CPU |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, clients, r, f in rows_echo:
        ratio = (
            r["perSecond"] / f["perSecond"] if r.get("perSecond") and f.get("perSecond") else None
        )
        lines.append(
            "| %s | %d | %s | %s | %s | %s |"
            % (name, clients, fmt(r.get("perSecond")), fmt(r.get("p99")),
               "%.2f×" % ratio if ratio else "—", "%.0f%%" % (100 * r.get("generatorCpu", 0)))
        )  # fmt: skip
    http_rows = http_transports(args.http_clients, args.http_messages)
    single = {transport: r for name, transport, r in http_rows if name == "1 worker"}
    lines += [
        "",
        "### HTTP transports: %d sockjs-client clients × %d echoed messages"
        % (args.http_clients, args.http_messages),
        "",
        "| server | transport | echoes/s | all once, in order | / 1 worker |",
        "| --- | --- | ---: | :---: | ---: |",
    ]
    for name, transport, r in http_rows:
        lines.append(
            "| clientsignal, %s | %s | %.0f | %s | %.2f× |"
            % (name, transport, r["perSecond"], "yes" if r["exact"] else "**no**",
               r["perSecond"] / single[transport]["perSecond"])
        )  # fmt: skip
    table = "\n".join(lines)
    print(table)
    if args.write:
        (BENCH / "RESULTS.md").write_text("# Benchmark results\n\n" + table + "\n")


if __name__ == "__main__":
    main()
