"""Resident memory per idle connection: server RSS before and after ``count`` idle connections.

``python -m bench.memory [--websockets N] [--xhr N]`` measures the gevent-websocket floor and
clientsignal (1 worker, SockJS websocket and xhr-streaming) against servers it starts itself.
More than 10,000 clientsignal sessions need CLIENTSIGNAL_SOCKJS_OPTIONS["max_sessions"] above
count + 100 (the warm-up) in benchproject.settings.
"""

from __future__ import annotations

import argparse
import json
import os
import selectors
import subprocess
import sys
import time
from pathlib import Path

from bench.children import stop_child

ROOT = Path(__file__).resolve().parents[1]
BENCH = Path(__file__).resolve().parent
IDLE = BENCH / "idle.js"
WARM_UP = 100


def rss_kib(pids: list[int]) -> int:
    """Sum of VmRSS (KiB) over ``pids``; processes that are gone count 0."""
    total = 0
    for pid in pids:
        try:
            status = Path("/proc/%d/status" % pid).read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
                break
    return total


def worker_pids(master_pid: int) -> list[int]:
    """The child processes of ``master_pid`` (a gunicorn master's workers)."""
    children: set[int] = set()
    try:
        tasks = list(Path("/proc/%d/task" % master_pid).iterdir())
    except OSError:
        tasks = []
    for task in tasks:
        try:
            children.update(int(p) for p in (task / "children").read_text().split())
        except OSError:
            pass
    if children or tasks:
        return sorted(children)
    for entry in Path("/proc").iterdir():  # fallback without /proc/*/task/*/children
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == master_pid:
            children.add(int(entry.name))
    return sorted(children)


def settled_rss(pids: list[int], quiet: float = 1.0, bound: float = 20.0) -> int:
    """RSS once it has stopped growing for ``quiet`` seconds (at most ``bound`` seconds)."""
    deadline = time.monotonic() + bound
    peak = rss_kib(pids)
    since = time.monotonic()
    while time.monotonic() < deadline and time.monotonic() - since < quiet:
        time.sleep(0.1)
        current = rss_kib(pids)
        if current > peak:
            peak, since = current, time.monotonic()
    return rss_kib(pids)


class IdleClients:
    """``node idle.js`` holding connections until it is closed."""

    def __init__(self, url: str, mode: str, count: int, timeout: float = 240) -> None:
        self.proc = subprocess.Popen(
            ["node", str(IDLE), url, mode, str(count)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        self.timeout = timeout

    def wait_open(self) -> dict:
        """The line idle.js prints once every connection is open or has failed."""
        with selectors.DefaultSelector() as selector:
            selector.register(self.proc.stdout, selectors.EVENT_READ)
            if not selector.select(self.timeout):
                self.close()
                raise TimeoutError("idle.js did not finish opening")
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("idle.js exited (%s)" % self.proc.poll())
        return json.loads(line)

    def close(self) -> None:
        stop_child(self.proc)
        self.proc.stdout.close()


def idle_memory(pids: list[int], url: str, mode: str, count: int) -> dict:
    """Server RSS (summed over ``pids``) with ``WARM_UP`` connections open, then with ``count``
    more (held by idle.js, mode raw, sockjs or xhr-streaming), and the difference per
    connection."""
    warm = IdleClients(url, mode, WARM_UP)
    clients = None
    try:
        warm.wait_open()
        before = settled_rss(pids)
        clients = IdleClients(url, mode, count)
        opened = clients.wait_open()
        after = settled_rss(pids)
    finally:
        for held in (clients, warm):
            if held is not None:
                held.close()
    result = {
        "connections": count,
        "open": opened["open"],
        "failed": opened["failed"],
        "open_seconds": round(opened.get("seconds", 0), 2),
        "kib_per_connection": round((after - before) / opened["open"], 2)
        if opened["open"]
        else None,
        "rss_before_kib": before,
        "rss_after_kib": after,
    }
    if "error" in opened:
        result["error"] = opened["error"]
    return result


def main() -> None:
    sys.path.insert(0, str(ROOT))
    from tests.support.servers import GunicornServer

    parser = argparse.ArgumentParser(prog="python -m bench.memory", description=__doc__)
    parser.add_argument("--websockets", type=int, default=10000, help="idle websockets")
    parser.add_argument("--xhr", type=int, default=2000, help="idle xhr-streaming sessions")
    args = parser.parse_args()
    many = ("--worker-connections", str(max(args.websockets, args.xhr) + 2 * WARM_UP + 100))
    project = {"PYTHONPATH": os.pathsep.join([str(BENCH / "project"), str(ROOT)])}
    results = {}
    with GunicornServer("bench.floor:application", extra_args=many) as server:
        ws = server.url.replace("http://", "ws://") + "/"
        results["gevent-websocket floor, websocket"] = idle_memory(
            worker_pids(server.proc.pid), ws, "raw", args.websockets
        )
    for mode, count in (("sockjs", args.websockets), ("xhr-streaming", args.xhr)):
        with GunicornServer(
            "benchproject.wsgi:application", env=project, cwd=BENCH / "project", extra_args=many
        ) as server:
            base = server.url + "/bench"
            url = base.replace("http://", "ws://") if mode == "sockjs" else base
            results["clientsignal, " + mode] = idle_memory(
                worker_pids(server.proc.pid), url, mode, count
            )
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
