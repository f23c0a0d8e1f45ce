"""``ClientSignalMiddleware``: the gevent I/O layer around the sans-I/O SockJS core.

Requests under a connection's prefix are answered here, in the gunicorn gevent-websocket
worker's greenlets; everything else goes to the wrapped application untouched.
"""

from __future__ import annotations

import logging
import socket
import struct
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from http import HTTPStatus
from typing import Any

import gevent
from gevent.event import Event
from geventwebsocket.exceptions import WebSocketError

from .sockjs_protocol import (
    BrokenJSON,
    Request,
    Response,
    SockJSOptions,
    SockJSServer,
    Stream,
    Upgrade,
)
from .sockjs_protocol.connection import SockJSConnection
from .sockjs_protocol.receiver import Receiver

logger = logging.getLogger("clientsignal.wsgi")

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

REAP_INTERVAL = 1.0
_clock = time.monotonic


class ClientSignalMiddleware:
    """Serve SockJS on the configured prefixes; pass every other request to ``application``.

    ``connections`` maps URL prefixes (``"/simple"``) to connection classes or their dotted
    paths; by default it is read from Django's ``CLIENTSIGNAL_CONNECTIONS`` setting.
    ``options`` are SockJS options for every service (``CLIENTSIGNAL_SOCKJS_OPTIONS`` by
    default); a class's ``sockjs_options`` override them for its prefix.
    """

    def __init__(
        self,
        application: WSGIApp,
        connections: Mapping[str, Any] | None = None,
        *,
        options: Mapping[str, Any] | None = None,
    ) -> None:
        self.application = application
        if connections is None:
            from . import conf

            connections = conf.connections()
            if options is None:
                options = conf.sockjs_options()
        base = SockJSOptions().updated(dict(options or {}))
        services = []
        for prefix, spec in connections.items():
            cls = _import(spec) if isinstance(spec, str) else spec
            service_options = base.updated(dict(getattr(cls, "sockjs_options", {}) or {}))
            services.append((prefix.rstrip("/"), SockJSServer(cls, service_options)))
        # Longest prefix first, so "/a/b" wins over "/a".
        self.services: list[tuple[str, SockJSServer]] = sorted(
            services, key=lambda item: len(item[0]), reverse=True
        )
        self._reaper: gevent.Greenlet | None = None

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        path = environ.get("PATH_INFO", "")
        for prefix, server in self.services:
            if path == prefix or path.startswith(prefix + "/"):
                return self._serve(server, path[len(prefix) :], environ, start_response)
        return self.application(environ, start_response)

    def server_for(self, prefix: str) -> SockJSServer:
        """The SockJS service mounted on ``prefix``."""
        for mounted, server in self.services:
            if mounted == prefix.rstrip("/"):
                return server
        raise KeyError(prefix)

    # -- HTTP ------------------------------------------------------------------------------

    def _serve(
        self,
        server: SockJSServer,
        path: str,
        environ: dict[str, Any],
        start_response: Callable[..., Any],
    ) -> Iterable[bytes]:
        self._start_reaper()
        request = _request(environ, path, server.options.max_request_body)
        result = server.handle(request, _clock())
        websocket = environ.get("wsgi.websocket")
        if isinstance(result, Upgrade):
            if websocket is None:
                # gevent-websocket refused the handshake itself (e.g. no version header).
                return _respond(start_response, _text(400, "Not a valid websocket request."))
            self._run_websocket(server, request, websocket, raw=result.raw)
            return []
        if websocket is not None:
            # An upgraded socket on a URL that is not a websocket endpoint.
            _close_websocket(websocket, 1002, "Not a websocket endpoint")
            return []
        if isinstance(result, Response):
            return _respond(start_response, result)
        headers = result.headers
        if environ.get("SERVER_PROTOCOL") == "HTTP/1.0":
            # No chunked encoding in HTTP/1.0: the end of the stream is the end of the
            # connection, whatever keep-alive the client asked for.
            headers = [*headers, ("Connection", "close")]
        start_response(_status(result.status), headers)
        return self._stream(result, environ)

    def _stream(self, stream: Stream, environ: dict[str, Any]) -> Iterator[bytes]:
        receiver = stream.receiver
        wakeup = Event()
        receiver.wake = wakeup.set
        gone = _watch_disconnect(environ, wakeup)
        receiver.alive = gone.alive
        try:
            if stream.prelude:
                yield stream.prelude
            yield from _frames(receiver, wakeup, gone)
        except GeneratorExit:
            # The server failed to write: the client went away mid-response.
            receiver.abort(_clock())
            raise
        finally:
            receiver.wake = _nothing
            gone.stop()

    # -- websocket -------------------------------------------------------------------------

    def _run_websocket(
        self, server: SockJSServer, request: Request, websocket: Any, *, raw: bool
    ) -> None:
        receiver = server.open_websocket(request, _clock(), raw=raw)
        session = receiver.session
        wakeup = Event()
        receiver.wake = wakeup.set
        closed_by_client = Event()
        broken = Event()

        def read() -> None:
            try:
                while True:
                    data = websocket.receive()
                    if data is None:
                        break
                    if isinstance(data, (bytes, bytearray)):
                        data = bytes(data).decode("utf-8")
                    server.websocket_message(session, data)
            except (BrokenJSON, UnicodeDecodeError):
                logger.info("websocket %s: broken JSON, closing", request.path)
                broken.set()
            except (WebSocketError, OSError):
                pass
            closed_by_client.set()
            wakeup.set()

        reader = gevent.spawn(read)
        try:
            for frame in _frames(receiver, wakeup, closed_by_client):
                websocket.send(frame)
        except (WebSocketError, OSError):
            receiver.abort(_clock())
        finally:
            receiver.wake = _nothing
            reader.kill(block=False)
            if raw and session.is_closed:
                _close_websocket(websocket, session.close_code, session.close_reason)
            elif broken.is_set():
                _close_websocket(websocket, 1002, "Broken framing.")
            else:
                _close_websocket(websocket, 1000, "")

    # -- timers ----------------------------------------------------------------------------

    def _start_reaper(self) -> None:
        # Started on first use, inside the worker: a greenlet made before gunicorn forks
        # (with --preload) would never run.
        if self._reaper is None:
            self._reaper = gevent.spawn(self._reap_forever)

    def _reap_forever(self) -> None:
        while True:
            gevent.sleep(REAP_INTERVAL)
            now = _clock()
            for _prefix, server in self.services:
                try:
                    server.tick(now)
                except Exception:
                    logger.exception("expiring sessions failed")


def _frames(receiver: Receiver, wakeup: Event, gone: Any) -> Iterator[Any]:
    """The chunks to write, as the receiver releases them, until it is done or the client is
    gone (``gone.is_set()``)."""
    while True:
        wakeup.clear()
        pull = receiver.pull(_clock())
        yield from pull.chunks
        if pull.done:
            return
        if gone.is_set():
            receiver.abort(_clock())
            return
        wakeup.wait(_timeout(pull.deadline))


def _close_websocket(websocket: Any, code: int, reason: str) -> None:
    """Send a close frame with ``code`` and ``reason``, once.

    gevent-websocket 0.10's ``close(code, message)`` drops the code from the frame, so the
    frame is written here and the socket marked closed as its ``close()`` would."""
    if websocket.closed:
        return
    try:
        payload = struct.pack("!H", code) + reason.encode("utf-8")[:123]
        websocket.send_frame(payload, websocket.OPCODE_CLOSE)
    except (WebSocketError, OSError):
        pass
    websocket.closed = True
    websocket.stream = None
    websocket.raw_write = None
    websocket.raw_read = None


class _DisconnectWatch:
    """Notices a client closing its connection while a response waits for frames."""

    def __init__(self, sock: socket.socket | None, wakeup: Event) -> None:
        self._event = Event()
        self._wakeup = wakeup
        self._sock = sock
        self._greenlet = gevent.spawn(self._watch, sock) if sock is not None else None

    def is_set(self) -> bool:
        return self._event.is_set()

    def alive(self) -> bool:
        """Checked now, without waiting for the watcher to run: False if the client has
        closed its end (its FIN may be queued before a new request from the same client)."""
        if self._event.is_set():
            return False
        if self._sock is None:
            return True
        # The OS socket under gevent's: gevent's own recv would wait for data.
        raw = getattr(self._sock, "_sock", self._sock)
        try:
            return bool(raw.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT))
        except BlockingIOError:
            return True
        except OSError:
            return False

    def stop(self) -> None:
        if self._greenlet is not None:
            self._greenlet.kill(block=False)

    def _watch(self, sock: socket.socket) -> None:
        try:
            gevent.socket.wait_read(sock.fileno())
            if sock.recv(1, socket.MSG_PEEK):
                return  # the client sent more (a pipelined request): not a disconnect
        except (OSError, ValueError):
            pass
        self._event.set()
        self._wakeup.set()


def _watch_disconnect(environ: dict[str, Any], wakeup: Event) -> _DisconnectWatch:
    return _DisconnectWatch(_client_socket(environ), wakeup)


def _client_socket(environ: dict[str, Any]) -> socket.socket | None:
    """The client's socket under gevent's pywsgi (not part of WSGI; None elsewhere)."""
    wsgi_input = environ.get("wsgi.input")
    rfile = getattr(wsgi_input, "rfile", wsgi_input)
    sock = getattr(getattr(rfile, "raw", None), "_sock", None)
    return sock if hasattr(sock, "recv") else None


def _request(environ: dict[str, Any], path: str, max_body: int) -> Request:
    headers = {
        key[5:].replace("_", "-").lower(): value
        for key, value in environ.items()
        if key.startswith("HTTP_")
    }
    if environ.get("CONTENT_TYPE"):
        headers["content-type"] = environ["CONTENT_TYPE"]
    body = b""
    if environ.get("REQUEST_METHOD") == "POST" and "wsgi.websocket" not in environ:
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > 0 or environ.get("HTTP_TRANSFER_ENCODING", "").lower() == "chunked":
            # One byte over the limit is enough to refuse the request.
            body = environ["wsgi.input"].read(min(length, max_body + 1) if length else max_body + 1)
    return Request(
        method=environ.get("REQUEST_METHOD", "GET"),
        path=path,
        query_string=environ.get("QUERY_STRING", ""),
        headers=headers,
        body=body,
        remote_addr=environ.get("REMOTE_ADDR", ""),
        environ=environ,
    )


def _respond(start_response: Callable[..., Any], response: Response) -> list[bytes]:
    headers = list(response.headers)
    if response.status not in (204, 304):
        headers.append(("Content-Length", str(len(response.body))))
    start_response(_status(response.status), headers)
    return [response.body] if response.body else []


def _text(status: int, text: str) -> Response:
    return Response(status, [("Content-Type", "text/plain;charset=UTF-8")], text.encode())


def _status(code: int) -> str:
    try:
        return "%d %s" % (code, HTTPStatus(code).phrase)
    except ValueError:
        return "%d Unknown" % code


def _timeout(deadline: float | None) -> float | None:
    return None if deadline is None else max(0.0, deadline - _clock())


def _import(path: str) -> type[SockJSConnection]:
    from django.utils.module_loading import import_string

    return import_string(path)


def _nothing() -> None:
    pass
