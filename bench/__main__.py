"""``python -m bench`` (``make bench``): clientsignal against its peers and the floor of its stack.

Every server runs on 127.0.0.1 (see bench/contenders.py); the load generators are Node
processes of their own (bench/loadgen.js, idle.js, listen.js) that report their own CPU use.
Scenarios, each bounded in clients and seconds:

1. broadcast fan-out, the websocket-shootout method: clients connect in steps, four concurrent
   broadcasts per round, latency until every client has the message; the largest step whose
   p95 stays under 250 ms (and 500 ms);
2. echo: messages per second and p99 latency, closed loop;
3. memory: resident memory per idle connection (websocket, and xhr-streaming for clientsignal);
4. cross-process: signals sent by a separate Python process through Redis to 1000 clients;
5. HTTP transports: real sockjs-client clients on xhr-polling and xhr-streaming, one worker
   and four workers sharing sessions through Redis;
6. dbchat: chat rooms whose every message is saved as a row in PostgreSQL and sent to its
   room, against Channels + daphne + channels_redis on the same PostgreSQL (bench/dbchat.py);
7. cluster: the cross-process scenario on one Redis, then on a three-master Redis Cluster
   (``redis+cluster://``), in the same run.

Ratios compare with the bare gevent-websocket floor (and sockjs-node) measured in the same run.
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

from bench import report  # noqa: E402
from bench.contenders import (  # noqa: E402
    FLOOR,
    HISTORY_PAIRS,
    ONE_WORKER,
    TWO_WORKERS,
    Contender,
    contenders,
)
from bench.crossprocess import cross_process, one_redis_and_cluster  # noqa: E402
from bench.dbchat import dbchat  # noqa: E402
from bench.history_cost import history_cost  # noqa: E402
from bench.memory import idle_memory  # noqa: E402
from tests.support.servers import GunicornServer, RedisServer  # noqa: E402

BENCH = ROOT / "bench"
LOADGEN = BENCH / "loadgen.js"
MANY_CLIENTS = ROOT / "tests" / "node" / "many_clients.js"
LIMITS_MS = (250, 500)
DEFAULT_SCENARIOS = "fanout,echo,memory,cross,http,dbchat,cluster"


def log(*parts: object) -> None:
    print(*parts, file=sys.stderr, flush=True)


def loadgen(contender: Contender, scenario: str, clients: int, amount: int, procs: int) -> dict:
    command = ["node", str(LOADGEN), contender.ws_url, contender.mode, scenario]
    command += [str(clients), str(amount), str(procs)]
    try:
        result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=320)
    except subprocess.TimeoutExpired:
        return {"clients": clients, "error": "load generator timed out"}
    lines = result.stdout.strip().split("\n")
    if result.returncode != 0 or not lines[-1]:
        return {"clients": clients, "error": result.stderr.strip()[-300:] or "no output"}
    return {"clients": clients, **json.loads(lines[-1])}


def fanout(contender: Contender, steps: list[int], rounds: int, procs: int) -> list[dict]:
    """Broadcast round trips at each step, until p95 passes the largest limit."""
    rows = []
    for clients in steps:
        result = loadgen(contender, "broadcast", clients, rounds, procs)
        log(contender.name, "fan-out", json.dumps(result))
        rows.append(result)
        if result.get("error") or result.get("timedOut") or (result["p95"] or 0) > LIMITS_MS[-1]:
            break
    return rows


def redis_calls(contender: Contender, reset: bool = False) -> dict[str, int]:
    """The Redis commands the contender's workers made since the last reset, by name."""
    if contender.redis_url is None:
        return {}
    import redis

    client = redis.Redis.from_url(contender.redis_url)
    try:
        if reset:
            client.config_resetstat()
            return {}
        stats = client.info("commandstats")
    finally:
        client.close()
    return {name.removeprefix("cmdstat_"): value["calls"] for name, value in stats.items()}


def echo(contender: Contender, clients: list[int], seconds: int, procs: int) -> list[dict]:
    rows = []
    for count in clients:
        result = loadgen(contender, "echo", count, seconds, procs)
        log(contender.name, "echo", json.dumps(result))
        rows.append(result)
    return rows


def memory(contender: Contender, kind: str, count: int) -> dict:
    """KiB per idle connection (``kind``: websocket, or xhr-streaming for SockJS servers), on a
    server that has served nothing else yet."""
    mode, url = contender.mode, contender.ws_url
    if kind == "xhr-streaming":
        mode, url = kind, contender.http_url
    try:
        result = idle_memory(contender.pids(), url, mode, count)
    except (RuntimeError, TimeoutError, OSError) as error:
        result = {"connections": count, "error": str(error)[:200]}
    result["kind"] = kind
    log(contender.name, "memory", json.dumps(result))
    return result


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
                    log(name, transport, json.dumps(result))
                    rows.append((name, transport, result))
    return rows


def parse_args() -> argparse.Namespace:
    ints = lambda text: [int(n) for n in text.split(",") if n]  # noqa: E731
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--scenarios",
        default=DEFAULT_SCENARIOS,
        help="fanout (with history's twins), echo, memory, cross, http, dbchat; history: the "
        "fan-out of the contenders with and without history only",
    )
    parser.add_argument("--contenders", default="", help="names (first words) to run; default all")
    parser.add_argument("--steps", type=ints, default=[500, 1000, 2000, 5000, 10000])
    parser.add_argument("--rounds", type=int, default=10, help="rounds of 4 broadcasts per step")
    parser.add_argument("--echo-clients", type=ints, default=[100, 1000])
    parser.add_argument("--echo-seconds", type=int, default=5)
    parser.add_argument("--memory-websockets", type=int, default=10000)
    parser.add_argument("--memory-xhr", type=int, default=2000)
    parser.add_argument("--cross-clients", type=int, default=1000)
    parser.add_argument("--http-clients", type=int, default=200)
    parser.add_argument("--http-messages", type=int, default=50)
    parser.add_argument("--dbchat-rooms", type=int, default=10)
    parser.add_argument("--dbchat-clients", type=int, default=20, help="clients per room")
    parser.add_argument("--dbchat-seconds", type=int, default=5, help="per rate, closed loop")
    parser.add_argument(
        "--dbchat-rates", type=ints, default=[20, 50, 100, 200, 400, 800],
        help="messages/s in all, rising until one is not sustained",
    )  # fmt: skip
    parser.add_argument("--dbchat-max-connections", type=int, default=100, help="PostgreSQL's")
    parser.add_argument("--dbchat-conn-max-age", type=int, default=60, help="Django's CONN_MAX_AGE")
    parser.add_argument("--procs", type=int, default=2, help="load generator processes")
    parser.add_argument(
        "--quick", action="store_true", help="small counts, to check the harness (not results)"
    )
    parser.add_argument("--write", action="store_true", help="write bench/RESULTS.md")
    args = parser.parse_args()
    if args.quick:
        args.steps, args.rounds, args.echo_clients, args.echo_seconds = [100, 500], 2, [100], 2
        args.memory_websockets, args.memory_xhr, args.cross_clients = 500, 200, 100
        args.http_clients, args.http_messages = 20, 10
        args.dbchat_rooms, args.dbchat_clients, args.dbchat_seconds = 2, 3, 2
        args.dbchat_rates = [5, 10]
    args.scenarios = set(args.scenarios.split(","))
    return args


def main() -> None:
    args = parse_args()
    names = set(args.contenders.split(",")) if args.contenders else None
    chosen = contenders(names)
    results: dict = {
        "fanout": {}, "echo": {}, "memory": {}, "cross": None, "http": [], "redis_calls": {},
        "dbchat": None, "cluster": None,
    }  # fmt: skip
    started = time.monotonic()
    if "history" in args.scenarios and "fanout" not in args.scenarios:
        paired = {name for pair in HISTORY_PAIRS for name in pair}
        chosen = [c for c in chosen if c.name in paired]
    chosen = [c for c in chosen if c.scenarios is None or c.scenarios & args.scenarios]
    if not {"fanout", "history", "echo", "memory", "cross"} & args.scenarios:
        chosen = []  # the scenarios asked for start servers of their own
    for contender in chosen:
        # Memory on a server that has served nothing else; the loads on another fresh one (a
        # server still closing 10,000 connections would measure that, not the loads).
        if "memory" in args.scenarios and args.memory_websockets and contender.runs("memory"):
            with contender:
                log("==", contender.name, "memory")
                results["memory"][contender.name] = [
                    memory(contender, "websocket", args.memory_websockets)
                ]
        with contender:
            log("==", contender.name, contender.ws_url)
            if {"fanout", "history"} & args.scenarios:
                redis_calls(contender, reset=True)
                results["fanout"][contender.name] = fanout(
                    contender, args.steps, args.rounds, args.procs
                )
                results["redis_calls"][contender.name] = redis_calls(contender)
            if "echo" in args.scenarios and contender.runs("echo"):
                results["echo"][contender.name] = echo(
                    contender, args.echo_clients, args.echo_seconds, args.procs
                )
            if "cross" in args.scenarios and contender.name == TWO_WORKERS:
                # Latency at a modest rate (the machine is far from saturated), then rates up.
                results["cross"] = cross_process(
                    contender.ws_url, contender.redis_url, args.cross_clients, latency_rate=10
                )
                log("cross-process", json.dumps(results["cross"]))
        if "memory" in args.scenarios and args.memory_xhr and contender.name == ONE_WORKER:
            with contender:  # a fresh server again: RSS freed by the loads would hide the cost
                results["memory"][contender.name].append(
                    memory(contender, "xhr-streaming", args.memory_xhr)
                )
    if "http" in args.scenarios:
        results["http"] = http_transports(args.http_clients, args.http_messages)
    if "dbchat" in args.scenarios:
        results["dbchat"] = dbchat(args, names)
    if "cluster" in args.scenarios:
        rates = (25, 50, 100, 200, 500, 1000) if not args.quick else (25, 50)
        results["cluster"] = one_redis_and_cluster(
            args.cross_clients, rates=rates, seconds=3.0 if not args.quick else 1.0
        )
        log("cluster", json.dumps(results["cluster"]))
    if {"fanout", "history"} & args.scenarios:
        results["history_cost"] = history_cost()
        log("history cost", json.dumps(results["history_cost"]))

    machine = "%s, %d cores, Python %s, Node %s, %s" % (
        platform.machine(),
        os.cpu_count() or 0,
        platform.python_version(),
        subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip(),
        platform.platform(terse=True),
    )
    table = report.render(results, args, machine, FLOOR, LIMITS_MS)
    log("bench: %.0f s" % (time.monotonic() - started))
    print(table)
    if args.write:
        write_results(table, args, machine)


def write_results(table: str, args: argparse.Namespace, machine: str) -> None:
    """bench/RESULTS.md: a full run replaces it; a run of some scenarios or contenders only
    replaces its own sections (each then says which run it comes from) and keeps the rest."""
    path = BENCH / "RESULTS.md"
    partial = args.scenarios != set(DEFAULT_SCENARIOS.split(",")) or args.contenders
    if not partial or not path.exists():
        path.write_text("# Benchmark results\n\n" + table + "\n")
        return
    note = "From a separate run (`python -m bench %s`, %s; %s)." % (
        " ".join(sys.argv[1:]),
        time.strftime("%Y-%m-%d"),
        machine,
    )
    path.write_text(report.merge(path.read_text(), table, note))


if __name__ == "__main__":
    main()
