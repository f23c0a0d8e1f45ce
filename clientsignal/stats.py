"""Stats: per process, and summed over every process through the Redis backend.

Each worker publishes its snapshot to Redis every few seconds (with an expiry, so a dead
worker drops out); a stats view sums what is there. Without Redis, a view shows its own
process only.
"""

from __future__ import annotations

import os
import weakref
from typing import TYPE_CHECKING, Any

from . import conf, databases
from .backends import BaseBackend, all_backends, get_backend, is_redis_url
from .gevent_io import gunicorn_worker
from .sockjs_protocol.stats import COUNTERS, HELP

if TYPE_CHECKING:
    from .services import Services

PUBLISH_INTERVAL = 2.0
SNAPSHOT_TTL = 10

_served: weakref.WeakSet[Services] = weakref.WeakSet()


def register(services: Services) -> None:
    """Count ``services`` in this process's snapshot."""
    _served.add(services)


def served() -> list[Services]:
    """The services of this process's middlewares."""
    return list(_served)


def process_snapshot() -> dict[str, Any]:
    """This process: each service's counters and open sessions by transport, and the state
    and topology of its backends."""
    services: dict[str, Any] = {}
    for services_ in served():
        for prefix, server in services_:
            factory = server.connection_factory
            name = getattr(factory, "__qualname__", None) or type(factory).__qualname__
            services[prefix] = {"class": name, **server.stats()}
    backends = {backend.state: dict(backend.stats) for backend in all_backends()}
    return {
        "pid": os.getpid(),
        "services": services,
        "backends": backends,
        "topology": [backend.describe() for backend in all_backends()],
        "databases": databases.stats(),
        "connections": gunicorn_worker.connection_stats(),
    }


def publish(backend: BaseBackend, worker_id: str) -> None:
    """Keep this process's snapshot in the backend for the others to sum (skipped while it is
    away: the backend logs that once)."""
    if backend.available():
        backend.store_snapshot(worker_id, process_snapshot(), SNAPSHOT_TTL)


def snapshots(backend: BaseBackend | None) -> list[dict[str, Any]]:
    """Every live process's snapshot: from the backend when it shares them (and answers),
    else this process's."""
    if backend is None or not backend.available():
        return [process_snapshot()]
    shared = backend.snapshots()
    return [process_snapshot()] if shared is None else shared


def summed(snaps: list[dict[str, Any]]) -> dict[str, Any]:
    """Totals over processes: counters added, open sessions added by transport."""
    services: dict[str, Any] = {}
    backend_states: dict[str, int] = {}
    database_totals: dict[str, dict[str, int]] = {}
    connections: dict[str, int] = {}
    for snap in snaps:
        for key, value in snap.get("connections", {}).items():
            connections[key] = connections.get(key, 0) + value
        for prefix, stats in snap["services"].items():
            total = services.setdefault(prefix, {"class": stats["class"], "open": {}})
            for key, value in stats.items():
                if key == "open":
                    for transport, count in value.items():
                        total["open"][transport] = total["open"].get(transport, 0) + count
                elif key != "class":
                    total[key] = total.get(key, 0) + value
        for state in snap["backends"]:
            backend_states[state] = backend_states.get(state, 0) + 1
        for alias, figures in snap.get("databases", {}).items():
            total = database_totals.setdefault(alias, {})
            for key, value in figures.items():
                total[key] = total.get(key, 0) + value
    return {
        "processes": len(snaps),
        "services": services,
        "backend_states": backend_states,
        "topology": topology(snaps),
        "databases": database_totals,
        "connections": connections,
    }


def topology(snaps: list[dict[str, Any]]) -> dict[str, Any]:
    """Where the processes' backends are: the kinds, the number of processes using each
    master (two during a failover, until every process has followed it), and the most
    failovers any process saw."""
    kinds: set[str] = set()
    masters: dict[str, int] = {}
    failovers = 0
    for snap in snaps:
        for described in snap.get("topology", []):
            kinds.add(described["kind"])
            master = described.get("master") or described.get("server")
            if master:
                masters[master] = masters.get(master, 0) + 1
            failovers = max(failovers, described.get("failovers", 0))
    return {"kinds": sorted(kinds), "masters": masters, "failovers": failovers}


def totals() -> dict[str, Any]:
    """The sums over every process the configured backend reaches; the topology both summed
    (kinds, processes by master, the most failovers any process saw) and as this process sees
    the deployment (a cluster's shards, a Sentinel's service)."""
    url = conf.backend_url()
    backend = get_backend(url, conf.backend_options()) if is_redis_url(url) else None
    sums = summed(snapshots(backend))
    here = describe(backend)
    where = {**here, **sums["topology"]}
    where["failovers"] = max(here.get("failovers", 0), sums["topology"]["failovers"])
    return {**sums, "topology": where}


def describe(backend: BaseBackend | None) -> dict[str, Any]:
    """What this process sees of the configured backend's deployment (a cluster's shards)."""
    return {"kind": "in-process"} if backend is None else backend.describe()


def prometheus(totals: dict[str, Any]) -> str:
    """The totals in Prometheus' text format, each metric with its HELP and TYPE."""
    lines: list[str] = []

    def metric(name: str, kind: str, text: str) -> None:
        lines.append("# HELP clientsignal_%s %s" % (name, text))
        lines.append("# TYPE clientsignal_%s %s" % (name, kind))

    metric("processes", "gauge", "Processes whose stats are summed here")
    lines.append("clientsignal_processes %d" % totals["processes"])
    for name in COUNTERS:
        metric("%s_total" % name, "counter", HELP[name])
        for prefix, stats in totals["services"].items():
            lines.append(
                'clientsignal_%s_total{service="%s"} %d' % (name, prefix, stats.get(name, 0))
            )
    metric("sessions_open", "gauge", "SockJS sessions open, by service and transport")
    for prefix, stats in totals["services"].items():
        for transport, count in sorted(stats["open"].items()):
            lines.append(
                'clientsignal_sessions_open{service="%s",transport="%s"} %d'
                % (prefix, transport, count)
            )
    for name, count in sorted(totals.get("connections", {}).items()):
        metric(
            "connections_%s_total" % name,
            "counter",
            "TCP connections " + CONNECTION_HELP.get(name, name.replace("_", " ")),
        )
        lines.append("clientsignal_connections_%s_total %d" % (name, count))
    shards = totals.get("topology", {}).get("shards")
    if shards is not None:
        metric("backend_shards", "gauge", "Masters of the Redis Cluster, as this process sees it")
        lines.append("clientsignal_backend_shards %d" % len(shards))
    metric("backend_processes", "gauge", "Processes by the state of their backend")
    for state, count in sorted(totals["backend_states"].items()):
        lines.append('clientsignal_backend_processes{state="%s"} %d' % (state, count))
    where = totals.get("topology", {})
    metric("backend_masters", "gauge", "Processes by the Redis server (master) they use now")
    for master, count in sorted(where.get("masters", {}).items()):
        lines.append('clientsignal_backend_masters{master="%s"} %d' % (master, count))
    metric(
        "backend_failovers",
        "gauge",
        "Failovers of the Redis master (of any master of a cluster), the most any process saw",
    )
    lines.append("clientsignal_backend_failovers %d" % where.get("failovers", 0))
    bounded = sorted(totals.get("databases", {}).items())
    for name, key, kind, text in DATABASE_FIGURES:
        metric("database_%s" % name, kind, text)
        for alias, figures in bounded:
            lines.append(
                'clientsignal_database_%s{alias="%s"} %d' % (name, alias, figures.get(key, 0))
            )
    return "\n".join(lines) + "\n"


CONNECTION_HELP = {
    "refused_per_address": "refused at accept: CLIENTSIGNAL_MAX_CONNECTIONS_PER_ADDRESS open",
    "header_timeouts": "closed for a request head that did not arrive in time (408)",
}

# (metric, key in a snapshot's "databases", Prometheus type, help): see clientsignal.databases.
DATABASE_FIGURES = (
    ("connections_bound", "size", "gauge", "CLIENTSIGNAL_DATABASE_CONNECTIONS, summed"),
    ("connections_in_use", "in_use", "gauge", "Database connections socket code holds now"),
    ("connections_open", "open", "gauge", "Database connections held or kept for reuse"),
    ("waits_total", "waited", "counter", "Times socket code waited for a database connection"),
    ("wait_timeouts_total", "timeouts", "counter", "Waits for a connection that timed out"),
)
