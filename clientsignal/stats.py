"""Stats: per process, and summed over every process through the Redis backend.

Each worker's reaper publishes its snapshot to Redis every few seconds (with an expiry, so a
dead worker drops out); a stats view sums what is there. Without Redis, a view shows its own
process only.
"""

from __future__ import annotations

import json
import os
import weakref
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .backends.base import BaseBackend
    from .wsgi import ClientSignalMiddleware

PUBLISH_INTERVAL = 2.0
SNAPSHOT_TTL = 10

_middlewares: weakref.WeakSet[ClientSignalMiddleware] = weakref.WeakSet()


def register(middleware: ClientSignalMiddleware) -> None:
    _middlewares.add(middleware)


def process_snapshot() -> dict[str, Any]:
    """This process: each service's counters and open sessions by transport, and the state of
    its backends."""
    from .backends import _backends

    services: dict[str, Any] = {}
    for middleware in list(_middlewares):
        for prefix, server in middleware.services:
            factory = server.connection_factory
            name = getattr(factory, "__qualname__", None) or type(factory).__qualname__
            services[prefix] = {"class": name, **server.stats()}
    backends = {
        str(getattr(backend, "state", "in-process")): dict(getattr(backend, "stats", {}))
        for backend in _backends.values()
    }
    return {"pid": os.getpid(), "services": services, "backends": backends}


def publish(backend: BaseBackend, worker_id: str) -> None:
    """Store this process's snapshot in Redis for the others to sum."""
    key = backend.channel("stats:" + worker_id)
    backend.client.set(key, json.dumps(process_snapshot()), ex=SNAPSHOT_TTL)  # type: ignore[attr-defined]


def snapshots(backend: BaseBackend | None) -> list[dict[str, Any]]:
    """Every live process's snapshot: from Redis when there is one, else this process's."""
    if backend is None or not hasattr(backend, "client"):
        return [process_snapshot()]
    client = backend.client  # type: ignore[attr-defined]
    keys = list(client.scan_iter(match=backend.channel("stats:*"), count=500))
    return [json.loads(raw) for raw in client.mget(keys) if raw] if keys else []


def summed(snaps: list[dict[str, Any]]) -> dict[str, Any]:
    """Totals over processes: counters added, open sessions added by transport."""
    services: dict[str, Any] = {}
    redis_states: dict[str, int] = {}
    for snap in snaps:
        for prefix, stats in snap["services"].items():
            total = services.setdefault(prefix, {"class": stats["class"], "open": {}})
            for key, value in stats.items():
                if key == "open":
                    for transport, count in value.items():
                        total["open"][transport] = total["open"].get(transport, 0) + count
                elif key != "class":
                    total[key] = total.get(key, 0) + value
        for state in snap["backends"]:
            redis_states[state] = redis_states.get(state, 0) + 1
    return {"processes": len(snaps), "services": services, "backend_states": redis_states}


def prometheus(totals: dict[str, Any]) -> str:
    """The totals in Prometheus' text format."""
    lines = [
        "# TYPE clientsignal_processes gauge",
        "clientsignal_processes %d" % totals["processes"],
    ]
    counters = ("sessions_opened", "sessions_closed", "messages_in", "messages_out",
                "bytes_in", "bytes_out", "errors")  # fmt: skip
    for name in counters:
        lines.append("# TYPE clientsignal_%s_total counter" % name)
        for prefix, stats in totals["services"].items():
            lines.append(
                'clientsignal_%s_total{service="%s"} %d' % (name, prefix, stats.get(name, 0))
            )
    lines.append("# TYPE clientsignal_sessions_open gauge")
    for prefix, stats in totals["services"].items():
        for transport, count in sorted(stats["open"].items()):
            lines.append(
                'clientsignal_sessions_open{service="%s",transport="%s"} %d'
                % (prefix, transport, count)
            )
    lines.append("# TYPE clientsignal_backend_processes gauge")
    for state, count in sorted(totals["backend_states"].items()):
        lines.append('clientsignal_backend_processes{state="%s"} %d' % (state, count))
    return "\n".join(lines) + "\n"


def push_to_pages(middleware: ClientSignalMiddleware) -> None:
    """Send the current totals to the live stats pages open in this process."""
    from .connection import StatsConnection

    pages = [
        session.connection
        for _prefix, server in middleware.services
        if isinstance(server.connection_factory, type)
        and issubclass(server.connection_factory, StatsConnection)
        for session in server.sessions()
        if not session.is_closed and session.connection is not None
    ]
    if pages:
        from .views import totals

        current = totals()
        for page in pages:
            page.send("stats", current)
