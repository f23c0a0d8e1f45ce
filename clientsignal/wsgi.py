"""``ClientSignalMiddleware``: the gevent I/O layer around the sans-I/O SockJS core.

Requests under a connection's prefix are answered here, in the gunicorn gevent-websocket
worker's greenlets; everything else goes to the wrapped application untouched.
"""

from __future__ import annotations

import logging
import signal
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import gevent
from gevent.event import Event

from .backends import is_redis_url
from .gevent_io import (
    build_request,
    clock,
    close_websocket,
    frames,
    nothing,
    plain_text,
    respond,
    status_line,
    watch_disconnect,
)
from .sockjs_protocol import (
    Response,
    SockJSOptions,
    SockJSServer,
    Stream,
    Upgrade,
)
from .sockjs_protocol.connection import SockJSConnection
from .sockjs_protocol.multiplex import Endpoint, Multiplexer
from .websocket_io import run_websocket

if TYPE_CHECKING:
    from .forwarding import SessionCluster

logger = logging.getLogger("clientsignal.wsgi")

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

REAP_INTERVAL = 1.0


class ClientSignalMiddleware:
    """Serve SockJS on the configured prefixes; pass every other request to ``application``.

    ``connections`` maps URL prefixes (``"/simple"``) to connection classes or their dotted
    paths; by default it is read from Django's ``CLIENTSIGNAL_CONNECTIONS`` setting.
    ``options`` are SockJS options for every service (``CLIENTSIGNAL_SOCKJS_OPTIONS`` by
    default); a class's ``sockjs_options`` override them for its prefix.
    ``sessions_url`` is a Redis URL through which the workers share HTTP sessions (see
    :mod:`clientsignal.forwarding`); by default ``CLIENTSIGNAL_BACKEND`` when it is Redis.
    ``multiplex`` is the prefix of the multiplexed service, on which one SockJS session
    carries channels to any of the other prefixes (``CLIENTSIGNAL_MULTIPLEX``; None: off).
    """

    def __init__(
        self,
        application: WSGIApp,
        connections: Mapping[str, Any] | None = None,
        *,
        options: Mapping[str, Any] | None = None,
        sessions_url: str | None = None,
        multiplex: str | None = None,
    ) -> None:
        self.application = application
        self._backend_options: dict[str, Any] = {}
        if connections is None:
            from . import conf

            connections = conf.connections()
            if multiplex is None:
                multiplex = conf.multiplex()
            if options is None:
                options = conf.sockjs_options()
            if sessions_url is None and is_redis_url(conf.backend_url()):
                sessions_url = conf.backend_url()
                self._backend_options = conf.backend_options()
            from .apps import check_workers

            # gunicorn runs no system checks: say it in the log at start-up.
            for warning in check_workers():
                logger.warning("%s (%s) %s", warning.msg, warning.id, warning.hint)
        self.sessions_url = sessions_url
        base = SockJSOptions().updated(dict(options or {}))
        services = []
        for prefix, spec in connections.items():
            cls = _import(spec) if isinstance(spec, str) else spec
            service_options = base.updated(dict(getattr(cls, "sockjs_options", {}) or {}))
            services.append((prefix.rstrip("/"), SockJSServer(cls, service_options)))
        self.multiplex = multiplex.rstrip("/") if multiplex else None
        if self.multiplex is not None:
            services.append((self.multiplex, SockJSServer(Multiplexer(self.endpoint), base)))
        # Longest prefix first, so "/a/b" wins over "/a".
        self.services: list[tuple[str, SockJSServer]] = sorted(
            services, key=lambda item: len(item[0]), reverse=True
        )
        self._reaper: gevent.Greenlet | None = None
        self._starting = False
        self._ready = Event()
        self.cluster: SessionCluster | None = None
        self._next_stats = 0.0
        from . import stats

        stats.register(self)

        # Prefixes with Django path converters ("/rooms/<int:room_id>") match by pattern.
        self._patterns = {prefix: _route_pattern(prefix) for prefix, _ in self.services}

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        found = self.match(environ.get("PATH_INFO", ""))
        if found is None:
            return self.application(environ, start_response)
        prefix, server, rest, url_kwargs = found
        if url_kwargs is not None:
            # The captured arguments reach the connection as ``self.kwargs``.
            environ["clientsignal.url_kwargs"] = url_kwargs
        return self._serve(prefix, server, rest, environ, start_response)

    def match(self, path: str) -> tuple[str, SockJSServer, str, dict[str, Any] | None] | None:
        """The service of ``path``: (prefix, server, the path under the prefix, the arguments
        a prefix with converters captured, else None); None when no prefix matches."""
        for prefix, server in self.services:
            pattern = self._patterns[prefix]
            if pattern is None:
                if path == prefix or path.startswith(prefix + "/"):
                    return prefix, server, path[len(prefix) :], None
                continue
            match = pattern.match(path[1:])
            if match is not None and (match[0] == "" or match[0].startswith("/")):
                return prefix, server, match[0], match[2]
        return None

    def endpoint(self, path: str) -> Endpoint | None:
        """The endpoint a multiplexed channel to ``path`` opens: a connection prefix exactly
        (not a URL under it, and not the multiplexed service itself)."""
        found = self.match(path)
        if found is None or found[0] == self.multiplex or found[2] not in ("", "/"):
            return None
        _prefix, server, _rest, url_kwargs = found
        return Endpoint(server, path, url_kwargs or {})

    def server_for(self, prefix: str) -> SockJSServer:
        """The SockJS service mounted on ``prefix``."""
        for mounted, server in self.services:
            if mounted == prefix.rstrip("/"):
                return server
        raise KeyError(prefix)

    # -- HTTP ------------------------------------------------------------------------------

    def _serve(
        self,
        prefix: str,
        server: SockJSServer,
        path: str,
        environ: dict[str, Any],
        start_response: Callable[..., Any],
    ) -> Iterable[bytes]:
        self._start()
        request = build_request(environ, path, server.options.max_request_body)
        if self.cluster is not None:
            forwarded = self.cluster.route(prefix, server, request, environ, start_response)
            if forwarded is not None:
                return forwarded
        result = server.handle(request, clock())
        websocket = environ.get("wsgi.websocket")
        if isinstance(result, Upgrade):
            if websocket is None:
                # gevent-websocket refused the handshake itself (e.g. no version header).
                return respond(start_response, plain_text(400, "Not a valid websocket request."))
            run_websocket(server, request, websocket, raw=result.raw)
            return []
        if websocket is not None:
            # gevent-websocket completed the handshake before we saw the request: refuse
            # by closing at once, with 4000 + the HTTP status (4403 for a refused origin).
            if isinstance(result, Stream):  # a receiving HTTP transport, asked for a websocket
                result.receiver.finish(clock())
                result = plain_text(400, "Not a websocket endpoint.")
            code = 4000 + result.status if 400 <= result.status < 500 else 1011
            close_websocket(websocket, code, result.body.decode("utf-8", "replace")[:100])
            return []
        if isinstance(result, Response):
            return respond(start_response, result)
        headers = result.headers
        if environ.get("SERVER_PROTOCOL") == "HTTP/1.0":
            # No chunked encoding in HTTP/1.0: the end of the stream is the end of the
            # connection, whatever keep-alive the client asked for.
            headers = [*headers, ("Connection", "close")]
        start_response(status_line(result.status), headers)
        return self._stream(result, environ)

    def _stream(self, stream: Stream, environ: dict[str, Any]) -> Iterator[bytes]:
        receiver = stream.receiver
        wakeup = Event()
        receiver.wake = wakeup.set
        gone = watch_disconnect(environ, wakeup)
        receiver.alive = gone.alive
        try:
            if stream.prelude:
                yield stream.prelude
            yield from frames(receiver, wakeup, gone)
        except GeneratorExit:
            # The server failed to write: the client went away mid-response.
            receiver.abort(clock())
            raise
        finally:
            receiver.wake = nothing
            gone.stop()

    # -- timers ----------------------------------------------------------------------------

    def _start(self) -> None:
        """Once per process, on the first request, inside the worker (a greenlet made before
        gunicorn forks, with --preload, would never run): get the backends ready for the
        served classes' broadcasts, join the session cluster, start the reaper. Concurrent
        first requests wait for it."""
        if self._ready.is_set():
            return
        if self._starting:
            self._ready.wait(10)
            return
        self._starting = True
        try:
            for _prefix, server in self.services:
                start_serving = getattr(server.connection_factory, "start_serving", None)
                if start_serving is not None:
                    start_serving()
            if self.sessions_url:
                from .backends import get_backend
                from .forwarding import SessionCluster

                backend = get_backend(self.sessions_url, self._backend_options)
                self.cluster = SessionCluster(backend, dict(self.services))  # type: ignore[arg-type]
            self._reaper = gevent.spawn(self._reap_forever)
            self._close_sessions_on_sigterm()
        finally:
            self._ready.set()

    def _close_sessions_on_sigterm(self) -> None:
        """gunicorn stops a worker gracefully on SIGTERM: close the sessions first, with a
        going-away code, so that clients reconnect (to another worker) at once instead of
        hanging until the graceful timeout cuts them off."""
        previous = signal.getsignal(signal.SIGTERM)

        def on_sigterm(signum: int, frame: Any) -> None:
            closed = sum(server.shutdown() for _prefix, server in self.services)
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
        from . import stats

        while True:
            gevent.sleep(REAP_INTERVAL)
            now = clock()
            for prefix, server in self.services:
                try:
                    expired = server.tick(now)
                    if self.cluster is not None and expired:
                        self.cluster.release(prefix, [session.id for session in expired])
                except Exception:
                    logger.exception("expiring sessions failed")
            if self.cluster is not None:
                self.cluster.refresh(now)
            if now >= self._next_stats:
                self._next_stats = now + stats.PUBLISH_INTERVAL
                try:
                    if self.cluster is not None:
                        stats.publish(self.cluster.backend, self.cluster.id)
                    stats.push_to_pages(self)
                except Exception:
                    logger.exception("publishing stats failed")


def _route_pattern(prefix: str) -> Any:
    """A Django ``RoutePattern`` for a prefix with converters, else None."""
    if "<" not in prefix:
        return None
    from django.urls.resolvers import RoutePattern

    return RoutePattern(prefix.lstrip("/"), is_endpoint=False)


def _import(path: str) -> type[SockJSConnection]:
    from django.utils.module_loading import import_string

    return import_string(path)
