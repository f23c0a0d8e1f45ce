"""``ClientSignalMiddleware``: WSGI in, the sans-I/O core's answer out.

Requests under a connection's prefix are answered here, in the gunicorn gevent-websocket
worker's greenlets; everything else goes to the wrapped application untouched. This module
only translates between WSGI and the core: the services live in :mod:`.services`, the
worker's lifecycle in :mod:`.worker`, sockets and greenlets in :mod:`.gevent_io`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from . import databases
from .backends import is_redis_url
from .gevent_io import http
from .gevent_io.websocket import close_websocket, run_websocket
from .services import Services
from .serving_checks import stop_watching_requests
from .sockjs_protocol import Response, Stream, Upgrade
from .worker import Worker

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class ClientSignalMiddleware:
    """Serve SockJS on the configured prefixes; pass every other request to ``application``.

    ``connections`` maps URL prefixes (``"/simple"``) to connection classes or their dotted
    paths; by default it is read from Django's ``CLIENTSIGNAL_CONNECTIONS`` setting.
    ``options`` are SockJS options for every service (``CLIENTSIGNAL_SOCKJS_OPTIONS`` by
    default); a class's ``sockjs_options`` override them for its prefix.
    ``sessions_url`` is a Redis URL through which the workers share HTTP sessions (see
    :mod:`clientsignal.gevent_io.forwarding`); by default ``CLIENTSIGNAL_BACKEND`` when it is
    Redis. ``multiplex`` is the prefix of the multiplexed service, on which one SockJS session
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
        # In a gevent worker: database drivers that cooperate, a bounded number of database
        # connections (or a refusal to start that names the fix).
        databases.prepare()
        backend_options: dict[str, Any] = {}
        if connections is None:
            from . import conf

            connections = conf.connections()
            if multiplex is None:
                multiplex = conf.multiplex()
            if options is None:
                options = conf.sockjs_options()
            if sessions_url is None and is_redis_url(conf.backend_url()):
                sessions_url = conf.backend_url()
                backend_options = conf.backend_options()
        self.services = Services(connections, options=options, multiplex=multiplex)
        self.worker = Worker(self.services, sessions_url, backend_options)
        stop_watching_requests()  # wrapped: socket requests no longer reach Django

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        match = self.services.match(environ.get("PATH_INFO", ""))
        if match is None:
            return self.application(environ, start_response)
        self.worker.start(environ.get("SERVER_SOFTWARE", ""))
        server = match.server
        try:
            request = http.build_request(
                environ,
                prefix=match.prefix,
                path=match.path,
                url_kwargs=match.url_kwargs,
                trusted_proxies=server.options.trusted_proxies,
            )
            # Only a send's body is read (nothing else reads one): a body sent anywhere else
            # under a prefix costs nothing.
            target = server.target(request)
            if target is not None and not target.receiving and "wsgi.websocket" not in environ:
                request.body = http.read_body(environ, server.options.max_request_body)
        except http.Refused as refused:
            return http.respond(start_response, http.plain_text(refused.status, refused.text))
        cluster = self.worker.cluster
        if cluster is not None:
            forwarded = cluster.route(match, request, environ, start_response)
            if forwarded is not None:
                return forwarded
        result = server.handle(request, http.clock())
        websocket = environ.get("wsgi.websocket")
        if isinstance(result, Upgrade):
            if websocket is None:
                # gevent-websocket refused the handshake itself (e.g. no version header).
                return http.respond(
                    start_response, http.plain_text(400, "Not a valid websocket request.")
                )
            run_websocket(server, request, websocket, raw=result.raw)
            return []
        if websocket is not None:
            # gevent-websocket completed the handshake before we saw the request: refuse
            # by closing at once, with 4000 + the HTTP status (4403 for a refused origin).
            if isinstance(result, Stream):  # a receiving HTTP transport, asked for a websocket
                result.receiver.finish(http.clock())
                result = http.plain_text(400, "Not a websocket endpoint.")
            code = 4000 + result.status if 400 <= result.status < 500 else 1011
            close_websocket(websocket, code, result.body.decode("utf-8", "replace")[:100])
            return []
        if isinstance(result, Response):
            return http.respond(start_response, result)
        return http.stream(start_response, result, environ)
