"""Where the memory of an idle connection goes: ``python -m bench.memprofile [--connections N]``.

Starts the bench project under gunicorn (one worker, clientsignal's settings) with a probe in
front of it (``bench.memprofile:application``, tracemalloc on from the worker's start), opens
a warm-up of idle SockJS websockets (or xhr-streaming sessions with ``--mode xhr-streaming``),
marks, opens ``N`` more, and prints, per connection:

- the worker's resident memory (RSS), as the memory scenario measures it;
- what tracemalloc saw allocated (Python's allocators: objects, buffers, greenlet stacks),
  by the file that allocated it and by the line;
- the objects one connection holds alone, by type, found by walking what two connections
  reference and keeping what the first one reaches and the second does not (shared things:
  classes, modules, functions, the server, the hub, the event loop are not walked into);
- the hub's and the server's per-connection share of their dicts and sets.

Runs on 127.0.0.1 only, bounded in connections and time; prints JSON.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import time
import tracemalloc
import types
import urllib.request
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
PREFIX = "/__memprobe__/"

# -- inside the worker: the probe -------------------------------------------------------------

_state: dict[str, Any] = {}


def _start_tracing() -> None:
    frames = int(os.environ.get("BENCH_TRACEMALLOC", "0") or 0)
    if frames and not tracemalloc.is_tracing():
        tracemalloc.start(frames)


_SHARED_NAMES = {
    "SockJSServer", "LocalHub", "MemoryBackend", "RedisBackend", "Counters", "Quotas",
    "SockJSOptions", "Hub", "loop", "Logger", "RootLogger", "ClientSignalMiddleware", "Worker",
    "Services", "LazySettings", "Settings", "WSGIHandler", "Pool", "Options", "Episode",
    "RecentByIdentity", "PlaceHolder", "Manager", "SessionStore",
}  # fmt: skip
_SHARED_TYPES = (
    type, types.ModuleType, types.FunctionType, types.BuiltinFunctionType, types.CodeType,
    types.MethodDescriptorType, types.WrapperDescriptorType, types.GetSetDescriptorType,
    types.MemberDescriptorType, property, staticmethod, classmethod, types.MappingProxyType,
)  # fmt: skip


def _shared(obj: Any, module_dicts: set[int]) -> bool:
    if isinstance(obj, _SHARED_TYPES) or id(obj) in module_dicts:
        return True
    name = type(obj).__name__
    if name in _SHARED_NAMES or name.endswith(("Server", "SessionStore")):
        # A Django SessionStore is per connection; the core's SessionStore is shared.
        return name != "SessionStore" or type(obj).__module__.startswith("clientsignal.sockjs")
    return False


def _reach(roots: list[Any], module_dicts: set[int]) -> dict[int, Any]:
    seen: dict[int, Any] = {}
    todo = list(roots)
    while todo:
        obj = todo.pop()
        if id(obj) in seen or _shared(obj, module_dicts):
            continue
        seen[id(obj)] = obj
        todo.extend(gc.get_referents(obj))
        if type(obj).__name__ == "greenlet" or hasattr(obj, "gr_frame"):
            frame = getattr(obj, "gr_frame", None)
            while frame is not None:  # a suspended greenlet's frames, with their locals
                todo.append(frame)
                frame = frame.f_back
    return seen


def _roots(ws_session: Any) -> list[Any]:
    handler = ws_session.websocket.handler
    return [ws_session, handler, ws_session.reader, ws_session.websocket]


def _label(obj: Any, owned: dict[int, Any]) -> str:
    name = type(obj).__name__
    if isinstance(obj, dict):
        for ref in gc.get_referrers(obj):
            if id(ref) in owned and getattr(ref, "__dict__", None) is obj:
                return "__dict__ of %s" % type(ref).__name__
        for ref in gc.get_referrers(obj):
            if id(ref) in owned and not isinstance(ref, types.FrameType):
                return "dict in %s" % type(ref).__name__
    return name


def _alone(kind: str) -> dict[str, Any]:
    """What one connection holds that a second one does not reach."""
    gc.collect()
    module_dicts = {id(m.__dict__) for m in list(sys.modules.values()) if m is not None}
    found = [o for o in gc.get_objects() if type(o).__name__ == kind]
    if len(found) < 2:
        return {"error": "fewer than two %s objects" % kind}
    if kind == "WebSocketSession":
        a, b = _roots(found[-1]), _roots(found[-2])
    else:  # a streaming receiver's Session: the generator's frames hold the rest
        a, b = [found[-1]], [found[-2]]
    ra, rb = _reach(a, module_dicts), _reach(b, module_dicts)
    owned = {k: v for k, v in ra.items() if k not in rb}
    by_label: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for obj in owned.values():
        entry = by_label[_label(obj, owned)]
        entry[0] += 1
        entry[1] += sys.getsizeof(obj)
    rows = sorted(by_label.items(), key=lambda item: -item[1][1])
    return {
        "objects": len(owned),
        "bytes": sum(size for _n, size in by_label.values()),
        "by_type": [{"what": k, "count": n, "bytes": size} for k, (n, size) in rows[:40]],
    }


def _containers() -> dict[str, int]:
    """Bytes of the process-wide dicts and sets that grow with connections."""
    from clientsignal import stats

    out: Counter[str] = Counter()
    for services in stats.served():
        for server in services.servers():
            out["server.websockets"] += sys.getsizeof(server.websockets)
            out["server.quotas"] += sys.getsizeof(server.quotas._open)
    for obj in gc.get_objects():
        if type(obj).__name__ == "LocalHub":
            out["hub._members"] += sys.getsizeof(obj._members)
            out["hub._joined"] += sum(sys.getsizeof(s) for s in obj._joined.values())
            out["hub._joined dict"] += sys.getsizeof(obj._joined)
            out["hub._channels"] += sum(sys.getsizeof(d) for d in obj._channels.values())
        elif type(obj).__name__.endswith("Server") and hasattr(obj, "clients"):
            out["gevent-websocket server.clients"] += sys.getsizeof(obj.clients)
    return dict(out)


def _traced(group: str) -> list[tuple[str, int, int]]:
    before, after = _state.get("snapshot"), _state.get("after")
    if before is None or after is None:
        return []
    stats = after.compare_to(before, group)
    return [(str(s.traceback[0]), s.size_diff, s.count_diff) for s in stats]


def _package(filename: str) -> str:
    for marker in ("clientsignal/", "geventwebsocket/", "gevent/", "django/", "gunicorn/"):
        if marker in filename:
            rest = filename.split(marker, 1)[1]
            return marker + rest
    return filename.rsplit("/", 1)[-1]


def _report(count: int) -> dict[str, Any]:
    gc.collect()
    out: dict[str, Any] = {"connections": count}
    if tracemalloc.is_tracing():
        _state["after"] = tracemalloc.take_snapshot()
        by_file = _traced("filename")
        by_line = _traced("lineno")
        out["traced_kib_per_connection"] = round(sum(s for _f, s, _c in by_file) / count / 1024, 2)
        files: Counter[str] = Counter()
        for name, size, _count in by_file:
            files[_package(name)] += size
        out["by_file_bytes_per_connection"] = [
            (name, round(size / count)) for name, size in files.most_common(25)
        ]
        out["by_line_bytes_per_connection"] = [
            (_package(name), round(size / count), round(n / count, 2))
            for name, size, n in by_line[:40]
        ]
        if tracemalloc.get_traceback_limit() > 1:
            before, after = _state["snapshot"], _state["after"]
            out["by_traceback"] = [
                {
                    "bytes": round(s.size_diff / count),
                    "count": round(s.count_diff / count, 2),
                    "where": [_package(str(f)) for f in s.traceback][:12],
                }
                for s in after.compare_to(before, "traceback")[:25]
            ]
    kind = _state.get("kind", "WebSocketSession")
    out["one_connection"] = _alone(kind)
    out["containers_bytes_per_connection"] = {
        k: round((v - _state.get("containers", {}).get(k, 0)) / count)
        for k, v in _containers().items()
    }
    return out


def probe(app: Any) -> Any:
    def application(environ: dict[str, Any], start_response: Any) -> Any:
        path = environ.get("PATH_INFO", "")
        if not path.startswith(PREFIX):
            return app(environ, start_response)
        action = path[len(PREFIX) :]
        query = dict(p.partition("=")[::2] for p in environ.get("QUERY_STRING", "").split("&"))
        if action == "mark":
            gc.collect()
            _state["kind"] = query.get("kind") or "WebSocketSession"
            _state["containers"] = _containers()
            if tracemalloc.is_tracing():
                _state["snapshot"] = tracemalloc.take_snapshot()
            body = b"{}"
        else:
            try:
                body = json.dumps(_report(int(query.get("n") or 1))).encode()
            except BaseException:  # noqa: B036 (a probe: say what went wrong, whatever it was)
                import traceback

                body = json.dumps({"error": traceback.format_exc()}).encode()
        start_response("200 OK", [("Content-Type", "application/json")])
        return [body]

    return application


def _load() -> Any:
    _start_tracing()
    from benchproject.wsgi import application as bench_application

    return probe(bench_application)


if "benchproject" in os.environ.get("DJANGO_SETTINGS_MODULE", "") and os.environ.get(
    "BENCH_MEMPROBE"
):
    application = _load()


# -- the driver --------------------------------------------------------------------------------


def _get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=600) as response:
        return json.loads(response.read())


def main() -> None:
    sys.path.insert(0, str(ROOT))
    from bench.memory import WARM_UP, IdleClients, settled_rss, worker_pids
    from tests.support.servers import GunicornServer

    parser = argparse.ArgumentParser(prog="python -m bench.memprofile", description=__doc__)
    parser.add_argument("--connections", type=int, default=2000)
    parser.add_argument("--mode", default="sockjs", choices=("sockjs", "xhr-streaming"))
    parser.add_argument("--frames", type=int, default=1, help="tracemalloc frames (0: off)")
    args = parser.parse_args()
    env = {
        "PYTHONPATH": os.pathsep.join([str(BENCH / "project"), str(ROOT)]),
        "DJANGO_SETTINGS_MODULE": "benchproject.settings",
        "BENCH_MEMPROBE": "1",
        "BENCH_TRACEMALLOC": str(args.frames),
    }
    # The probe's report takes a while under tracemalloc: no worker timeout meanwhile.
    many = ("--worker-connections", str(args.connections + 2 * WARM_UP + 100), "--timeout", "900")
    with GunicornServer(
        "bench.memprofile:application", env=env, cwd=BENCH / "project", extra_args=many
    ) as server:
        pids = worker_pids(server.proc.pid)
        base = server.url + "/bench"
        url = base.replace("http://", "ws://") if args.mode == "sockjs" else base
        kind = "WebSocketSession" if args.mode == "sockjs" else "Session"
        warm = IdleClients(url, args.mode, WARM_UP)
        clients = None
        try:
            warm.wait_open()
            _get(server.url + PREFIX + "mark?kind=" + kind)
            before = settled_rss(pids)
            clients = IdleClients(url, args.mode, args.connections)
            opened = clients.wait_open()
            time.sleep(1)
            after = settled_rss(pids)
            try:
                report = _get(server.url + PREFIX + "report?n=%d" % opened["open"])
            except OSError:
                print(server.log_text()[-3000:], file=sys.stderr)
                raise
        finally:
            for held in (clients, warm):
                if held is not None:
                    held.close()
    report["rss_kib_per_connection"] = round((after - before) / max(1, opened["open"]), 2)
    report["open"] = opened["open"]
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
