"""Database connections in the socket worker: a bounded number per process and alias, handed
from one piece of application code to the next, and database drivers that cooperate with
gevent.

Django keeps a database connection per thread, and the gevent worker makes every greenlet a
thread: without a bound, each socket that runs a receiver gets a connection of its own, so the
connections follow the number of sockets rather than the work (300 sockets calling at once
asked PostgreSQL for 300), and with ``CONN_MAX_AGE`` every idle socket kept its connection.

So in a gevent-patched process (gunicorn's gevent worker, ``manage.py runsocket``), the
application code clientsignal runs (``on_open`` and with it ``get_user``, receivers, calls,
``allow``, ``accepts``, ``on_close``) goes through :func:`run`. The first time such code asks
Django for a connection of an alias (``connections[alias]``, which every query does), it is
handed one of at most ``CLIENTSIGNAL_DATABASE_CONNECTIONS`` (20) connections of that alias in
this process, waiting its turn (first come, first served) for at most
``CLIENTSIGNAL_DATABASE_WAIT`` seconds (10) when they are all in use; past that it gets
:class:`DatabaseBusy`, which answers like any receiver that raised. When the code returns, the
connection goes back: closed if Django would close it at the end of a request (past
``CONN_MAX_AGE``, broken, autocommit left off), else kept for the next piece of code. An idle
socket holds none, and code that never touches the database never waits.

The connection handed over is one of Django's own connection objects (``DatabaseWrapper``),
so everything Django does with it (transactions, ``on_commit``, ``CONN_HEALTH_CHECKS``,
Django 5.1+'s ``"pool"`` option, to which closing returns the connection) is unchanged. Pages
(Django views) are not bounded: each request's greenlet uses Django's connections as Django
does, so a page is not queued behind a burst of socket work. SQLite is left as it is: its
connections are per greenlet and closed after each piece of code, as at the end of a request.

psycopg2 and mysqlclient are C drivers that block the whole worker while they wait for the
database (every socket and page of the worker waits). psycopg2 is made cooperative with
psycogreen, applied here when it is installed; without it, and with mysqlclient (use PyMySQL),
the worker refuses to start, and ``manage.py check`` says so (``clientsignal.E060``,
``clientsignal.E061``). psycopg 3 and PyMySQL cooperate as they are.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any, TypeVar

from django.core.exceptions import ImproperlyConfigured
from django.core.signals import request_finished, request_started
from django.db import connections
from django.db.utils import OperationalError

from .django_requests import release_databases
from .episodes import Episode

logger = logging.getLogger("clientsignal.databases")

T = TypeVar("T")

DEFAULT_CONNECTIONS = 20
DEFAULT_WAIT = 10.0


class DatabaseBusy(OperationalError):
    """No connection of an alias became free within ``CLIENTSIGNAL_DATABASE_WAIT``."""


class BoundedConnections:
    """At most ``size`` Django connection objects of one alias, each used by one piece of
    application code at a time; code beyond that waits, first come first served."""

    def __init__(self, alias: str, size: int, wait: float, create: Callable[[str], Any]) -> None:
        self.alias = alias
        self.size = size
        self.wait = wait
        self._create = create
        self._lock = threading.Lock()
        self._idle: list[Any] = []
        self._waiting: deque[threading.Event] = deque()
        self._full = Episode()
        self.in_use = 0
        self.waited = 0
        self.timeouts = 0

    def take(self) -> Any:
        """A connection object for the calling code: an idle one, a new one while fewer than
        ``size`` exist, else the next one handed back (after those that asked before)."""
        turn = threading.Event()
        with self._lock:
            free = self.in_use < self.size and not self._waiting
            if free:
                self.in_use += 1
                wrapper = self._idle.pop() if self._idle else None
            else:
                self._waiting.append(turn)
                self.waited += 1
                first_of_episode = self._full.hit(time.monotonic())
        if free:
            return self._ready(wrapper)
        if first_of_episode:
            logger.warning(
                "all %d connections of database %r are in use: application code waits for one "
                "(up to %.0f s); raise CLIENTSIGNAL_DATABASE_CONNECTIONS if the database allows "
                "more (further waits are not logged until a minute passes without one)",
                self.size,
                self.alias,
                self.wait,
            )
        if not turn.wait(self.wait):
            with self._lock:
                if not turn.is_set():
                    self._waiting.remove(turn)
                    self.timeouts += 1
                    raise DatabaseBusy(
                        "no connection of database %r became free within %.1f s (all %d of "
                        "this worker's are in use: CLIENTSIGNAL_DATABASE_CONNECTIONS)"
                        % (self.alias, self.wait, self.size)
                    )
        # Handed over by give_back(): the place it held is ours now.
        with self._lock:
            wrapper = self._idle.pop() if self._idle else None
        return self._ready(wrapper)

    def borrow(self) -> tuple[Any, bool]:
        """For a page, which never waits: an idle connection object while fewer than ``size``
        are in use (True: it counts among them), else a new one of its own (False)."""
        with self._lock:
            counted = bool(self._idle) and self.in_use < self.size and not self._waiting
            if counted:
                self.in_use += 1
                wrapper = self._idle.pop()
        return self._ready(wrapper if counted else None), counted

    def give_back(self, wrapper: Any, counted: bool = True) -> None:
        """The code that took ``wrapper`` is done: close its connection if Django would at
        the end of a request, keep it for the next code otherwise, and hand its place on. A
        page's own (not ``counted``) is kept only while there is room within ``size``."""
        keep = True
        try:
            if wrapper.in_atomic_block:
                # Left open by the code (an atomic block entered by hand): never reused.
                keep = False
                wrapper.close()
            else:
                wrapper.close_if_unusable_or_obsolete()
        except Exception:
            keep = False
            logger.exception("closing a connection of database %r failed", self.alias)
        with self._lock:
            if not counted:
                keep = keep and self.in_use + len(self._idle) < self.size
            elif self._waiting:
                self._waiting.popleft().set()
            else:
                self.in_use -= 1
            if keep:
                self._idle.append(wrapper)
        if not keep and wrapper.connection is not None and not wrapper.in_atomic_block:
            try:
                wrapper.close()
            except Exception:
                logger.exception("closing a connection of database %r failed", self.alias)

    def sweep(self) -> None:
        """Close the idle connections past ``CONN_MAX_AGE`` (an idle one is not otherwise
        looked at until some code takes it)."""
        with self._lock:
            idle = list(self._idle)
        for wrapper in idle:
            try:
                wrapper.close_if_unusable_or_obsolete()
            except Exception:
                logger.exception("closing a connection of database %r failed", self.alias)

    def open_connections(self) -> int:
        """Connections to the database held here now, in use or idle (for stats and tests)."""
        with self._lock:
            idle = sum(1 for wrapper in self._idle if wrapper.connection is not None)
        return idle + self.in_use

    def _ready(self, wrapper: Any) -> Any:
        if wrapper is None:
            wrapper = self._create(self.alias)
            # Handed between greenlets, each of which Django sees as a thread.
            wrapper.inc_thread_sharing()
        else:
            # What Django does at the start of a request.
            wrapper.close_if_unusable_or_obsolete()
        return wrapper


_bounds: dict[str, BoundedConnections] | None = None
_prepared = False
_local = threading.local()


def run(func: Callable[..., T], *args: Any) -> T:
    """Run application code with this module's rule for database connections (see the
    module's docstring); nested calls share the outermost one's connections."""
    if _bounds is None:
        try:
            return func(*args)
        finally:
            release_databases()
    depth = getattr(_local, "depth", 0)
    _local.depth = depth + 1
    try:
        return func(*args)
    finally:
        _local.depth = depth
        if depth == 0:
            _give_back()


def _give_back() -> None:
    """Hand back what this greenlet took (and, for what Django made itself, close it as at
    the end of a request)."""
    held: dict[str, tuple[Any, bool]] | None = getattr(_local, "held", None)
    if held:
        _local.held = {}
        initialized = connections.all(initialized_only=True)
        for alias, (wrapper, counted) in held.items():
            try:
                if any(c is wrapper for c in initialized):
                    del connections[alias]
            finally:
                assert _bounds is not None
                _bounds[alias].give_back(wrapper, counted)
    release_databases()


def _create_connection(original: Callable[[str], Any]) -> Callable[[str], Any]:
    def create_connection(alias: str) -> Any:
        bound = None if _bounds is None else _bounds.get(alias)
        if bound is None:
            return original(alias)
        if getattr(_local, "depth", 0):
            wrapper, counted = bound.take(), True
        elif getattr(_local, "page", False):
            wrapper, counted = bound.borrow()
        else:
            return original(alias)
        held = getattr(_local, "held", None)
        if held is None:
            held = _local.held = {}
        held[alias] = (wrapper, counted)
        return wrapper

    return create_connection


def _page_started(**kwargs: Any) -> None:
    _local.page = True


def _page_finished(**kwargs: Any) -> None:
    """After Django's own end of a request (which closed what is past ``CONN_MAX_AGE``): the
    page's connections go back to the worker instead of staying with a greenlet that may be
    gone (a dead greenlet's connection stays open until the garbage collector finds it)."""
    _local.page = False
    if not getattr(_local, "depth", 0):
        _give_back()


def install(size: int, wait: float) -> None:
    """Bound the connections of every alias but SQLite's to ``size`` per process (0: no
    bound), waiting at most ``wait`` seconds for one. Once per process."""
    global _bounds
    if _bounds is not None or size <= 0:
        return
    original = connections.create_connection
    _bounds = {
        alias: BoundedConnections(alias, size, wait, original)
        for alias in connections
        if _vendor(alias) not in (None, "sqlite")
    }
    connections.create_connection = _create_connection(original)
    request_started.connect(_page_started, dispatch_uid="clientsignal.databases.page")
    request_finished.connect(_page_finished, dispatch_uid="clientsignal.databases.page")


def sweep() -> None:
    """Close idle connections past their age (the worker's reaper calls it every second)."""
    for bound in (_bounds or {}).values():
        bound.sweep()


def stats() -> dict[str, dict[str, int]]:
    """Per bounded alias: the bound, connections in use and open, waits, waits that timed out."""
    return {
        alias: {
            "size": bound.size,
            "in_use": bound.in_use,
            "open": bound.open_connections(),
            "waited": bound.waited,
            "timeouts": bound.timeouts,
        }
        for alias, bound in (_bounds or {}).items()
    }


def prepare() -> None:
    """In a gevent-patched process: make the database drivers cooperate (or refuse to start,
    naming the fix), and bound the connections (``CLIENTSIGNAL_DATABASE_CONNECTIONS``).
    Called when the middleware is made and again in the worker; does its work once."""
    global _prepared
    from django.conf import settings
    from gevent import monkey

    # Not for a server of the SockJS core without Django (clientsignal.echo).
    if _prepared or not settings.configured or not monkey.is_module_patched("threading"):
        return
    problems = driver_problems(fix=True)
    if problems:
        raise ImproperlyConfigured(
            " ".join("%s (%s) %s" % (message, check, hint) for check, message, hint in problems)
        )
    from . import conf

    install(conf.database_connections(), conf.database_wait())
    _prepared = True


def driver_problems(*, fix: bool = False) -> list[tuple[str, str, str]]:
    """(check id, message, hint) for each database alias whose driver blocks a gevent worker.
    ``fix``: apply psycogreen to psycopg2 when it is installed (in a worker)."""
    problems = []
    for alias in connections:
        vendor = _vendor(alias)
        if vendor == "postgresql" and _uses_psycopg2() and not _psycopg2_cooperates(fix):
            problems.append(
                (
                    "clientsignal.E060",
                    "DATABASES[%r] uses psycopg2, which blocks the whole gevent worker while it "
                    "waits for PostgreSQL (every socket and page of the worker waits)." % alias,
                    "Install psycogreen (pip install psycogreen: clientsignal applies it in its "
                    "workers), or psycopg 3 (pip install 'psycopg[binary]': Django uses it when "
                    "it is installed).",
                )
            )
        elif vendor == "mysql" and _uses_mysqlclient():
            problems.append(
                (
                    "clientsignal.E061",
                    "DATABASES[%r] uses mysqlclient (MySQLdb), which blocks the whole gevent "
                    "worker while it waits for MySQL (every socket and page of the worker "
                    "waits)." % alias,
                    "Use PyMySQL, which gevent makes cooperative: pip install PyMySQL, and "
                    "'import pymysql; pymysql.install_as_MySQLdb()' at the top of settings.py.",
                )
            )
    return problems


def _vendor(alias: str) -> str | None:
    """The alias's backend vendor (``postgresql``, ``mysql``, ``sqlite``...); None when its
    backend cannot be loaded (Django reports that itself)."""
    from django.db.utils import load_backend

    try:
        return load_backend(connections.settings[alias]["ENGINE"]).DatabaseWrapper.vendor
    except Exception:
        return None


def _uses_psycopg2() -> bool:
    from django.db.backends.postgresql.psycopg_any import is_psycopg3

    return not is_psycopg3


def _psycopg2_cooperates(fix: bool) -> bool:
    import psycopg2.extensions

    if psycopg2.extensions.get_wait_callback() is not None:
        return True
    try:
        from psycogreen.gevent import patch_psycopg
    except ImportError:
        return False
    if fix:
        patch_psycopg()
        logger.info("psycopg2 made cooperative with gevent (psycogreen)")
    return True


def _uses_mysqlclient() -> bool:
    import MySQLdb

    return MySQLdb.__name__ != "pymysql"
