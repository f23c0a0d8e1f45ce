"""One SockJS service: routes a request and answers it, or tells the I/O layer what to do."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from . import pages
from .connection import SockJSConnection
from .exceptions import HTTPError, PayloadTooLarge, SessionNotFound, TooManySessions
from .frames import decode_messages
from .http import (
    Headers,
    Request,
    Response,
    cors_headers,
    method_not_allowed,
    not_found,
    options_response,
    text_response,
)
from .options import SockJSOptions
from .origins import origin_allowed, request_origin
from .receiver import Receiver
from .router import route
from .session import GOING_AWAY, Session, SessionStore
from .stats import Counters
from .transports import TRANSPORTS, RawWebSocket, ReceivingTransport, SendingTransport, WebSocket
from .transports.websocket import refuse_plain_http

logger = logging.getLogger("clientsignal.sockjs")


@dataclass
class Stream:
    """Start a receiving response: send the head, write ``prelude`` as its own chunk, then
    follow ``receiver``."""

    status: int
    headers: Headers
    prelude: bytes
    receiver: Receiver


@dataclass
class Upgrade:
    """The request is a valid websocket handshake; call :meth:`SockJSServer.open_websocket`."""

    raw: bool


ConnectionFactory = Callable[[Session], SockJSConnection]


class SockJSServer:
    """The sans-I/O SockJS service mounted on one prefix."""

    def __init__(
        self,
        connection_factory: ConnectionFactory,
        options: SockJSOptions | None = None,
        store: SessionStore | None = None,
    ) -> None:
        self.connection_factory = connection_factory
        self.options = options or SockJSOptions()
        self.store = store if store is not None else SessionStore()
        self.websockets: set[Session] = set()
        # This service's endpoints opened inside multiplexed sessions (see .multiplex).
        self.channels: set[Session] = set()
        self.counters = Counters()
        self.iframe = pages.IframePage(self.options.sockjs_url, self.options.allowed_origins)

    def handle(self, request: Request, now: float) -> Response | Stream | Upgrade:
        """Answer one HTTP request (``request.path`` is relative to the prefix)."""
        try:
            return self._dispatch(request, now)
        except HTTPError as error:
            logger.info("%s %s: %d %s", request.method, request.path, error.status, error.text)
            return text_response(error.status, error.text, cors_headers(request))

    def open_websocket(self, request: Request, now: float, *, raw: bool) -> Receiver:
        """Start a websocket session (never stored: its life is the socket's; call
        :meth:`websocket_closed` at its end). Raises :class:`TooManySessions`."""
        transport = (RawWebSocket if raw else WebSocket)(request, self.options)
        session = self._new_session("", transport.name, request, now, raw=raw)
        self.websockets.add(session)
        return self._receiver(session, transport, now)

    def websocket_closed(self, session: Session) -> None:
        """The websocket of ``session`` is gone."""
        self.websockets.discard(session)
        session.interrupt()

    def shutdown(self) -> int:
        """Close every session with 1001 "Server shutting down": their clients reconnect,
        to another worker. Messages already queued are delivered before the close frame.
        Returns how many sessions were open."""
        sessions = [s for s in self.sessions() if not s.is_closed]
        for session in sessions:
            session.close(*GOING_AWAY)
        return len(sessions)

    def stats(self) -> dict[str, object]:
        """This service's counters in this process, with its open sessions by transport."""
        open_by_transport: dict[str, int] = {}
        for session in self.sessions():
            if not session.is_closed:
                name = session.transport
                if getattr(session, "multiplexed", False):
                    name += " (multiplexed)"
                open_by_transport[name] = open_by_transport.get(name, 0) + 1
        return {**self.counters.as_dict(), "open": open_by_transport}

    def sessions(self) -> list[Session]:
        """This service's sessions in this process: stored, websocket and multiplexed."""
        return [*self.store, *self.websockets, *self.channels]

    def open_sessions(self) -> int:
        return len(self.store) + len(self.websockets) + len(self.channels)

    def websocket_message(self, session: Session, data: str) -> None:
        """One websocket text message; raises :class:`~.exceptions.BrokenJSON` if it's not
        SockJS JSON (the I/O layer then closes the socket)."""
        if session.raw:
            session.receive([data])
        elif data:
            session.receive(decode_messages(data, allow_bare_string=True))

    def tick(self, now: float) -> list[Session]:
        """Expire sessions whose receiver has been gone for ``disconnect_delay``."""
        return self.store.expire(now)

    # -- internals -------------------------------------------------------------------------

    def _dispatch(self, request: Request, now: float) -> Response | Stream | Upgrade:
        target = route(request.path)
        method = request.method
        if target.kind == "greeting":
            return pages.greeting() if method in ("GET", "HEAD") else method_not_allowed(("GET",))
        if target.kind == "info":
            if method == "OPTIONS":
                return options_response(request, ("OPTIONS", "GET"), now)
            return (
                pages.info(request, self.options)
                if method == "GET"
                else method_not_allowed(("OPTIONS", "GET"))
            )
        if target.kind == "iframe":
            return (
                self.iframe.response(request, now)
                if method == "GET"
                else method_not_allowed(("GET",))
            )
        if target.kind in ("raw_websocket", "session") and not origin_allowed(
            request, self.options.allowed_origins
        ):
            logger.warning(
                "%s %s: origin %r not allowed",
                request.method,
                request.path,
                request_origin(request),
            )
            return text_response(403, "Origin not allowed.")
        if target.kind == "raw_websocket":
            return self._websocket(request, raw=True)
        if target.kind != "session":
            return not_found()
        cls = TRANSPORTS.get(target.transport)
        if cls is None:
            return not_found()
        if cls is WebSocket:
            return self._websocket(request, raw=False)
        if method == "OPTIONS" and cls.cors:
            return options_response(request, ("OPTIONS", *cls.methods), now)
        if method not in cls.methods:
            return method_not_allowed(cls.methods + (("OPTIONS",) if cls.cors else ()))
        transport = cls(request, self.options)
        if isinstance(transport, SendingTransport):
            return self._send(target.session_id, transport)
        assert isinstance(transport, ReceivingTransport)
        return self._receive(target.session_id, transport, request, now)

    def _websocket(self, request: Request, *, raw: bool) -> Response | Upgrade:
        if not self.options.websocket:
            return not_found()
        if request.method != "GET":
            return method_not_allowed(("GET",))
        return refuse_plain_http(request) or Upgrade(raw=raw)

    def _receive(
        self, session_id: str, transport: ReceivingTransport, request: Request, now: float
    ) -> Stream:
        session = self.store.get(session_id)
        if session is None:
            session = self._new_session(session_id, transport.name, request, now)
            self.store.add(session)
        return Stream(
            200, transport.headers(), transport.prelude(), self._receiver(session, transport, now)
        )

    def _send(self, session_id: str, transport: SendingTransport) -> Response:
        session = self.store.get(session_id)
        if session is None or session.is_closed:
            raise SessionNotFound()
        if len(transport.request.body) > self.options.max_request_body:
            raise PayloadTooLarge()
        session.receive(decode_messages(transport.payload()))
        return transport.success()

    def _new_session(
        self, session_id: str, transport: str, request: Request, now: float, *, raw: bool = False
    ) -> Session:
        if self.open_sessions() >= self.options.max_sessions:
            logger.warning("refusing a new session: %d open", self.open_sessions())
            raise TooManySessions()
        session = Session(
            session_id,
            transport=transport,
            disconnect_delay=self.options.disconnect_delay,
            now=now,
            raw=raw,
            max_message_size=self.options.max_message_size,
            max_queued_bytes=self.options.max_queued_bytes,
            counters=self.counters,
        )
        connection = self.connection_factory(session)
        session.open(connection, lambda: connection.on_open(request))
        return session

    def _receiver(self, session: Session, transport: ReceivingTransport, now: float) -> Receiver:
        # A streaming HTTP response is renewed after response_limit bytes (so proxies and
        # browsers do not hold ever-growing responses); a websocket has no such limit.
        limit = None if isinstance(transport, WebSocket) else self.options.response_limit
        return Receiver(
            session,
            transport,
            heartbeat_delay=self.options.heartbeat_delay,
            response_limit=limit if transport.streaming else 0,
            now=now,
        )
