"""What clientsignal changes in gunicorn's gevent-websocket worker, through its hooks
(``-c python:clientsignal.gunicorn_conf``), before the worker starts accepting:

- the pool of connections a worker holds at once (``worker_connections``): gunicorn's default
  of 1000 would leave the 1001st client waiting in the listen backlog with no error and no log
  line, far below ``max_sessions``; the open files limit is raised to match;
- a full pool is logged, once per episode, with the limit and the setting that raises it;
- one client address may hold at most ``CLIENTSIGNAL_MAX_CONNECTIONS_PER_ADDRESS`` of them
  (a tenth of the pool by default), counted as they are accepted, before a request is read: its
  excess is answered 429 and closed at once, counted, logged once per episode;
- a request's head (request line and headers) must arrive within ``CLIENTSIGNAL_HEADER_TIMEOUT``
  seconds, so that connections that send their headers a byte at a time (slowloris) cannot
  hold the pool, and be at most :data:`MAX_HEAD` bytes (gevent alone allows 100 lines of
  64 KiB, kept for the life of a session); the unread rest of a body is given as long, then
  the connection is closed;
- the start-up log says what the worker holds, and the first worker warns (once, not once
  per worker) when several workers run on the in-process backend (``clientsignal.W001``) and
  when the application it loaded is not wrapped in ``ClientSignalMiddleware``.

This module is imported by gunicorn's master with the configuration, before its workers patch
the standard library for gevent: it imports nothing else until a hook runs in a worker.
"""

from __future__ import annotations

import logging
import resource
import time
from typing import Any

logger = logging.getLogger("clientsignal.worker")

DEFAULT_CONNECTIONS = 11_000
"""The pool of a worker: a service's default ``max_sessions`` (10,000) and room for 1,000
more connections (Django pages, sends, other services)."""

DEFAULT_HEADER_TIMEOUT = 10.0
POOL_SHARE_PER_ADDRESS = 10
"""Without ``CLIENTSIGNAL_MAX_CONNECTIONS_PER_ADDRESS``, one address may hold a tenth of a
worker's pool: 1,100 connections of clientsignal's 11,000."""
REFUSALS_PER_READ = 100
"""Connections refused at most each time the listening socket is found readable, before the
worker's other greenlets run again (a flood is refused as fast as it comes, never ahead of the
connections being served)."""
MAX_HEAD = 64 * 1024
"""Bytes of a request line and headers; a bigger head gets 431."""
FILES_MARGIN = 256
"""Open files a worker needs besides its connections (Redis, logs, the database, imports)."""

_configured = False


def configured() -> bool:
    """Whether this process's gunicorn worker went through :func:`post_worker_init`."""
    return _configured


def post_worker_init(worker: Any) -> None:
    """gunicorn's hook, in each worker once the application is loaded."""
    global _configured
    _configured = True
    connections = int(worker.worker_connections)
    files = raise_open_files_limit(connections + FILES_MARGIN)
    header_timeout = _setting("CLIENTSIGNAL_HEADER_TIMEOUT", DEFAULT_HEADER_TIMEOUT)
    per_address = connections_per_address(connections)
    worker.wsgi_handler = with_header_timeout(worker.wsgi_handler, header_timeout)
    worker.server_class = limiting_addresses(
        watching_pool(worker.server_class, connections, worker.log),
        per_address,
        _trusted_proxies(),
    )
    # gunicorn's own log: where its operators look, at its log level.
    worker.log.info(
        "worker %d holds up to %d connections at once (worker_connections), %s from one "
        "address (CLIENTSIGNAL_MAX_CONNECTIONS_PER_ADDRESS), %d open files; request heads "
        "must arrive within %.0f s (CLIENTSIGNAL_HEADER_TIMEOUT)",
        worker.pid,
        connections,
        per_address or "any number",
        files,
        header_timeout,
    )
    if files < connections + FILES_MARGIN:
        worker.log.warning(
            "the open files limit (%d) is below worker_connections (%d): the worker fails to "
            "accept past it; raise it (systemd: LimitNOFILE=, a shell: ulimit -n) or lower "
            "--worker-connections",
            files,
            connections,
        )
    sessions = _largest_max_sessions()
    if sessions > connections:
        worker.log.warning(
            "a service accepts up to %d sessions (max_sessions) but the worker holds %d "
            "connections (worker_connections): raise --worker-connections or lower "
            "max_sessions",
            sessions,
            connections,
        )
    if worker.age == 1:  # the first worker speaks for all of them, once
        _check_workers(int(worker.cfg.workers), worker.log)
    from ..serving_checks import check_loaded_application

    check_loaded_application(worker)


def raise_open_files_limit(wanted: int) -> int:
    """Raise this process's soft limit of open files towards ``wanted`` (up to the hard
    limit); the limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    return int(soft)


class HeaderTimedOut(Exception):
    """A client took longer than the header timeout to send a request's head."""


class HeadTooLarge(ValueError):
    """A request's head is over :data:`MAX_HEAD` bytes."""


_TIMED_OUT = (
    b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n"
    b"Content-Type: text/plain\r\nContent-Length: 16\r\n\r\nRequest timeout."
)
_TOO_LARGE = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\n"
    b"Content-Type: text/plain\r\nContent-Length: 23\r\n\r\nRequest head too large."
)


class _LimitedHead:
    """The client's stream while a request's headers are read: more than ``limit`` bytes of
    them raise :class:`HeadTooLarge` before they are kept."""

    def __init__(self, rfile: Any, limit: int) -> None:
        self._rfile = rfile
        self._left = limit

    def readline(self, size: int = -1) -> bytes:
        if size < 0 or size > self._left + 1:
            size = self._left + 1
        line: bytes = self._rfile.readline(size)
        self._left -= len(line)
        if self._left < 0:
            raise HeadTooLarge("request head over %d bytes" % MAX_HEAD)
        return line

    def __getattr__(self, name: str) -> Any:
        return getattr(self._rfile, name)


class HeaderTimeouts:
    """The count of requests whose head came too late, logged once per episode."""

    def __init__(self, seconds: float) -> None:
        from ..episodes import Episode

        self.seconds = seconds
        self.episode = Episode()

    def hit(self, address: Any) -> None:
        if self.episode.hit(time.monotonic()):
            logger.warning(
                "a request head from %s did not arrive within %.0f s "
                "(CLIENTSIGNAL_HEADER_TIMEOUT): 408 and closed; further ones are counted, not "
                "logged, until a minute passes without one",
                address[0] if isinstance(address, tuple) else address,
                self.seconds,
            )


header_timeouts: HeaderTimeouts | None = None


def with_header_timeout(handler_class: type, seconds: float) -> type:
    """A subclass of gevent's WSGI handler that gives each request ``seconds`` to send its
    request line and headers, the wait for a keep-alive connection's next request included;
    past it the client gets 408 and the connection is closed."""
    import gevent
    from gevent import pywsgi

    global header_timeouts
    timeouts = header_timeouts = HeaderTimeouts(seconds)

    class BodyTimedOut(pywsgi._InvalidClientInput):
        """The rest of a request's body did not come in time: gevent's handler closes a
        connection whose stream is in an unknown state on this error."""

    class TimedInput(pywsgi.Input):
        """gevent's request body, whose unread rest is discarded within ``seconds``, or
        the connection closed."""

        __slots__ = ()

        def _discard(self) -> None:
            with gevent.Timeout(seconds, False):
                super()._discard()
                return
            raise BodyTimedOut("the rest of the request body was not sent in time")

    class Handler(handler_class):
        _head_timer: Any = None

        def read_requestline(self) -> Any:
            self._head_timer = gevent.Timeout.start_new(seconds, HeaderTimedOut())
            try:
                line = super().read_requestline()
            except HeaderTimedOut:
                self._timed_out()
                raise OSError("request line timed out") from None
            if not line:
                self._stop_timer()
            return line

        rfile: Any

        def read_request(self, raw_requestline: str) -> Any:
            rfile = self.rfile
            self.rfile = _LimitedHead(rfile, MAX_HEAD - len(raw_requestline))
            try:
                return super().read_request(raw_requestline)
            finally:
                self.rfile = rfile
                self._stop_timer()

        def get_environ(self) -> Any:
            environ = super().get_environ()
            # gevent reads what the application left of a body after the response, with no
            # time limit: a declared body that never comes would hold the connection for good.
            self.wsgi_input.__class__ = TimedInput
            return environ

        def handle_one_request(self) -> Any:
            try:
                return super().handle_one_request()
            finally:
                self._stop_timer()

        def _handle_client_error(self, ex: Exception) -> Any:
            if isinstance(ex, HeaderTimedOut):
                timeouts.hit(self.client_address)
                return ("408", _TIMED_OUT)
            if isinstance(ex, HeadTooLarge):
                return ("431", _TOO_LARGE)
            if isinstance(ex, BodyTimedOut):
                return None  # the response is out: the connection is closed, no more to say
            return super()._handle_client_error(ex)

        def _timed_out(self) -> None:
            timeouts.hit(self.client_address)
            try:
                self.socket.sendall(_TIMED_OUT)
            except OSError:
                pass

        def _stop_timer(self) -> None:
            if self._head_timer is not None:
                self._head_timer.close()
                self._head_timer = None

    Handler.__name__ = Handler.__qualname__ = "HeaderTimeout" + handler_class.__name__
    return Handler


def watching_pool(server_class: type, limit: int, log: Any) -> type:
    """A subclass of gevent's WSGI server that logs when its pool is full (new clients wait
    in the listen backlog): once per episode, an episode ending after a minute without it
    (under load the pool frees and fills again many times a second)."""
    from ..episodes import Episode

    full = Episode()

    class Server(server_class):
        def stop_accepting(self) -> None:
            super().stop_accepting()
            if self.pool is not None and self.pool.full() and full.hit(time.monotonic()):
                log.error(
                    "all %d connections of this worker are in use (worker_connections): new "
                    "clients wait unanswered until one closes; raise --worker-connections "
                    "(and the open files limit), or add workers",
                    limit,
                )

    Server.__name__ = Server.__qualname__ = "PoolWatching" + server_class.__name__
    return Server


def connections_per_address(connections: int) -> int:
    """``CLIENTSIGNAL_MAX_CONNECTIONS_PER_ADDRESS``, or a tenth of the pool when it is unset
    (None); 0 is no limit."""
    try:
        from .. import conf

        value = conf.get("CLIENTSIGNAL_MAX_CONNECTIONS_PER_ADDRESS")
    except Exception:  # not a Django project (clientsignal.echo)
        value = None
    if value is None:
        return max(1, connections // POOL_SHARE_PER_ADDRESS)
    return int(value)


_TOO_MANY_BODY = b"Too many connections from this address."
_TOO_MANY = (
    b"HTTP/1.1 429 Too Many Requests\r\nConnection: close\r\nContent-Type: text/plain\r\n"
    b"Content-Length: %d\r\n\r\n%s" % (len(_TOO_MANY_BODY), _TOO_MANY_BODY)
)

address_connections: Any = None
"""This worker's :class:`~..sockjs_protocol.limits.AddressConnections`, once it accepts."""


def limiting_addresses(server_class: type, limit: int, exempt: tuple[str, ...]) -> type:
    """A subclass of gevent's WSGI server that counts its connections by client address as
    it accepts them (before a request head is read: a client that never sends one holds its
    place until the header timeout) and refuses those past ``limit`` from one address (0: no
    limit; the ``exempt`` addresses are not counted): 429 written at once, without waiting,
    and closed, before a greenlet or a place in the pool is given to it."""
    from ..episodes import Episode
    from ..sockjs_protocol.limits import AddressConnections

    global address_connections
    counts = address_connections = AddressConnections(limit, exempt)
    refusing = Episode()

    class Server(server_class):
        _refusals = 0  # in this round of accepts

        def _do_read(self) -> None:  # gevent's: one round of accepts, the socket readable
            self._refusals = 0
            super()._do_read()

        def do_read(self) -> Any:
            while self._refusals < REFUSALS_PER_READ:
                accepted = super().do_read()
                if not accepted:
                    return accepted
                sock, address = accepted
                if counts.open(_host(address)):
                    return accepted
                self._refusals += 1
                _refuse(sock)
                if refusing.hit(time.monotonic()):
                    logger.warning(
                        "%d connections open from %s (CLIENTSIGNAL_MAX_CONNECTIONS_PER_ADDRESS): "
                        "refusing more (429, closed at once); further ones are counted (stats: "
                        "connections.refused_per_address), not logged, until a minute passes "
                        "without one",
                        counts.count(_host(address)),
                        _host(address),
                    )
            return None

        def do_close(self, *args: Any) -> None:
            try:
                super().do_close(*args)
            finally:
                counts.close(_host(args[1]))

    Server.__name__ = Server.__qualname__ = "AddressLimiting" + server_class.__name__
    return Server


def _refuse(sock: Any) -> None:
    try:
        sock.setblocking(False)
        sock.send(_TOO_MANY)  # a new connection's send buffer is empty: it never waits
    except OSError:
        pass
    finally:
        sock.close()


def _host(address: Any) -> str:
    """The client's IP address; "" for a unix socket's (a proxy's) connections."""
    return address[0] if isinstance(address, tuple) and address else ""


def connection_stats() -> dict[str, int]:
    """This worker's refusals before a request is served, for the stats."""
    return {
        "refused_per_address": address_connections.refused if address_connections else 0,
        "header_timeouts": header_timeouts.episode.count if header_timeouts else 0,
    }


def _trusted_proxies() -> tuple[str, ...]:
    """The proxies the services of this process trust (``trusted_proxies``)."""
    from .. import stats
    from ..sockjs_protocol import SockJSOptions

    found = {
        proxy
        for services in stats.served()
        for server in services.servers()
        for proxy in server.options.trusted_proxies
    }
    return tuple(sorted(found)) if found else SockJSOptions().trusted_proxies


def _largest_max_sessions() -> int:
    """The largest ``max_sessions`` of the clientsignal services in this process."""
    from .. import stats

    return max((services.max_sessions() for services in stats.served()), default=0)


def _check_workers(workers: int, log: Any) -> None:
    try:
        from ..apps import workers_warning

        warning = workers_warning(workers)
    except Exception:  # not a Django project (clientsignal.echo): nothing to check
        return
    if warning is not None:
        log.warning("%s (%s) %s", warning.msg, warning.id, warning.hint)


def _setting(name: str, default: float) -> float:
    try:
        from .. import conf

        value = conf.get(name)
    except Exception:  # not a Django project (clientsignal.echo)
        return default
    return default if value is None else float(value)
