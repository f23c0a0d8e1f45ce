"""One worker process's side of serving: start-up on the first request, the reaper that expires
sessions and publishes stats, and closing every session on SIGTERM."""

from __future__ import annotations

import logging
import signal
from typing import Any

import gevent
from gevent.event import Event
from gevent.queue import Queue

from . import databases, stats
from .backends import all_backends, presence
from .backends.redis.global_limits import GlobalLimits
from .connection import reauthentication
from .connection.places import announce_departures
from .gevent_io import gunicorn_worker
from .gevent_io.forwarding import SessionCluster
from .gevent_io.http import clock
from .services import Services
from .serving_checks import runserver_message, served_by_runserver

logger = logging.getLogger("clientsignal.worker")

REAP_INTERVAL = 1.0
USER_CHECKERS = 4
"""Greenlets of a worker that check connections' users (see .reauthentication) at once: the
checks a sweep or a change schedules queue for them, so that they never take more than this
many database connections of the worker's bound at a time."""
START_WAIT = 2.0
"""Seconds the first request of a worker waits, at most, for the backends to confirm their
subscriptions (not at all while Redis is known to be away)."""


class Worker:
    """This process's lifecycle for one set of services. ``sessions_url`` is a Redis URL
    through which workers share HTTP sessions (None: each worker serves its own)."""

    def __init__(
        self,
        services: Services,
        sessions_url: str | None = None,
        backend_options: dict[str, Any] | None = None,
    ) -> None:
        self.services = services
        self.sessions_url = sessions_url
        self.backend_options = backend_options or {}
        self.cluster: SessionCluster | None = None
        self.limits: GlobalLimits | None = None  # GLOBAL_LIMITS: limits of every worker
        self._reaper: gevent.Greenlet | None = None
        self._starting = False
        self._ready = Event()
        self._next_stats = 0.0
        self._next_presence = 0.0
        stats.register(services)

    def start(self, server_software: str = "") -> None:
        """Once per process, on the first request, inside the worker (a greenlet made before
        gunicorn forks, with --preload, would never run): get the backends ready for the
        served classes' broadcasts, join the session cluster, start the reaper. Concurrent
        first requests wait for it, at most :data:`START_WAIT` seconds."""
        if self._ready.is_set():
            return
        if self._starting:
            self._ready.wait(START_WAIT + 1)
            return
        self._starting = True
        # Made with the middleware already, unless the application was loaded before the
        # worker patched the standard library for gevent (gunicorn --preload).
        databases.prepare()
        if "gunicorn" in server_software and not gunicorn_worker.configured():
            logger.warning(
                "gunicorn runs without clientsignal's settings (-c "
                "python:clientsignal.gunicorn_conf): this worker holds only worker_connections "
                "connections at once (gunicorn's default: 1000) and says nothing when they "
                "are all in use, and request heads have no time limit"
            )
        if served_by_runserver(server_software):
            logger.warning(runserver_message(server_software))
        try:
            deadline = clock() + START_WAIT
            unconfirmed = []
            for _prefix, server in self.services:
                start_serving = getattr(server.connection_factory, "start_serving", None)
                if start_serving is not None and not start_serving(deadline):
                    unconfirmed.append(_name(server.connection_factory))
                    deadline = clock()  # the next classes do not wait either
            if unconfirmed:
                logger.warning(
                    "the backend has not confirmed the subscriptions of %s yet: this worker "
                    "receives what is published to them once it does",
                    ", ".join(unconfirmed),
                )
            if self.sessions_url:
                from .backends import get_backend

                backend = get_backend(self.sessions_url, self.backend_options)
                self.cluster = SessionCluster(backend, self.services)
                if self.backend_options.get("GLOBAL_LIMITS"):
                    self.limits = GlobalLimits(backend)  # type: ignore[arg-type]
                    for mount, server in self.services:
                        server.quotas.share(mount, self.limits)
            self._start_user_checkers()
            self._reaper = gevent.spawn(self._reap_forever)
            self._close_sessions_on_sigterm()
        finally:
            self._ready.set()

    def _start_user_checkers(self) -> None:
        """Checks of connections' users run in a few greenlets of their own, never in the
        greenlet that delivers the change (the Redis subscriber's, say)."""
        jobs: Queue[reauthentication.Job] = Queue()

        def check_forever() -> None:
            while True:
                job = jobs.get()
                try:
                    job()
                except Exception:
                    logger.exception("checking a connection's user failed")

        for _ in range(USER_CHECKERS):
            gevent.spawn(check_forever)
        reauthentication.use_scheduler(self.services.servers(), jobs.put)

    def _close_sessions_on_sigterm(self) -> None:
        """gunicorn stops a worker gracefully on SIGTERM: close the sessions first, with a
        going-away code, so that clients reconnect (to another worker) at once instead of
        hanging until the graceful timeout cuts them off."""
        previous = signal.getsignal(signal.SIGTERM)

        def on_sigterm(signum: int, frame: Any) -> None:
            closed = sum(server.shutdown() for server in self.services.servers())
            logger.info("SIGTERM: closed %d sessions with 1001 (going away)", closed)
            if callable(previous):
                previous(signum, frame)
            elif previous == signal.SIG_DFL:
                raise SystemExit(0)

        try:
            signal.signal(signal.SIGTERM, on_sigterm)
        except ValueError:  # not the main thread: leave shutdown to the server
            pass

    def _reap_forever(self) -> None:
        while True:
            gevent.sleep(REAP_INTERVAL)
            self.reap(clock())

    def reap(self, now: float) -> None:
        """Expire idle sessions, keep this worker's sessions registered, publish stats."""
        for prefix, server in self.services:
            try:
                expired = server.tick(now)
                if self.cluster is not None and expired:
                    self.cluster.release(prefix, [session.id for session in expired])
            except Exception:
                logger.exception("expiring sessions failed")
        if self.cluster is not None:
            self.cluster.refresh(now)
        databases.sweep()
        try:
            reauthentication.sweep(self.services.servers(), now)
        except Exception:
            logger.exception("scheduling the checks of connections' users failed")
        if now >= self._next_presence:
            self._next_presence = now + presence.REFRESH
            if self.limits is not None:
                try:
                    self.limits.refresh()
                except Exception:
                    logger.exception("refreshing the global limits failed")
            for backend in all_backends():
                try:
                    departures = backend.refresh_presence()
                    if departures:
                        announce_departures(backend, departures)
                except Exception:
                    logger.exception("refreshing presence failed")
        if now >= self._next_stats:
            self._next_stats = now + stats.PUBLISH_INTERVAL
            try:
                if self.cluster is not None:
                    stats.publish(self.cluster.backend, self.cluster.id)
                self.push_to_pages()
            except Exception:
                logger.exception("publishing stats failed")

    def push_to_pages(self) -> None:
        """Send the current totals to the live stats pages open in this process."""
        from .connection import StatsConnection

        pages = [
            session.connection
            for server in self.services.servers()
            for session in server.sessions()
            if isinstance(session.connection, StatsConnection) and not session.is_closed
        ]
        if pages:
            current = stats.totals()
            for page in pages:
                page.send("stats", current)


def _name(factory: Any) -> str:
    return getattr(factory, "__qualname__", None) or type(factory).__qualname__
