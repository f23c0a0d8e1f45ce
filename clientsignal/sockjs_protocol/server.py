"""One SockJS service: routes a request and answers it, or tells the I/O layer what to do."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from ..episodes import Episode
from . import binding, pages
from .connection import SockJSConnection
from .exceptions import (
    HTTPError,
    PayloadTooLarge,
    SessionNotFound,
    ShuttingDown,
    TooManyFromAddress,
    TooManySessions,
)
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
from .limits import Quotas, client_key
from .options import SockJSOptions
from .origins import host_allowed, origin_allowed, request_host, request_origin
from .ratelimit import TokenBucket
from .receiver import Receiver
from .router import Route, route
from .session import GOING_AWAY, Session, SessionStore
from .stats import Counters
from .transports import (
    TRANSPORTS,
    RawWebSocket,
    ReceivingTransport,
    SendingTransport,
    Transport,
    WebSocket,
)
from .transports.websocket import refuse_plain_http

logger = logging.getLogger("clientsignal.sockjs")

TOO_MANY_FOR_USER = (4429, "Too many sessions for this user")


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


@dataclass(frozen=True)
class Target:
    """The stored session an HTTP request addresses, and whether it receives (a poll or a
    stream) or sends."""

    session_id: str
    receiving: bool


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
        self.quotas = Quotas()
        self.shutting_down = False
        self.episodes: dict[str, Episode] = {}
        self.iframe = pages.IframePage(self.options.sockjs_url, self.options.allowed_origins)

    def handle(self, request: Request, now: float) -> Response | Stream | Upgrade:
        """Answer one HTTP request (``request.path`` is relative to the prefix)."""
        try:
            return self._dispatch(request, now)
        except HTTPError as error:
            logger.info("%s %s: %d %s", request.method, request.prefix, error.status, error.text)
            return text_response(error.status, error.text, cors_headers(request))

    def target(self, request: Request) -> Target | None:
        """The stored session ``request`` addresses, if it is a session request of an HTTP
        transport with a method it allows; None for anything else (pages, websockets, errors)."""
        found = self._transport(request)
        if found is None or found[1].websocket:
            return None
        session_route, cls = found
        return Target(session_route.session_id, issubclass(cls, ReceivingTransport))

    def has_session(self, session_id: str) -> bool:
        """Whether this process holds the stored session ``session_id``."""
        return self.store.get(session_id) is not None

    def open_websocket(self, request: Request, now: float, *, raw: bool) -> Receiver:
        """Start a websocket session (never stored: its life is the socket's; call
        :meth:`websocket_closed` at its end). Raises :class:`TooManySessions`,
        :class:`TooManyFromAddress` or :class:`ShuttingDown`."""
        transport = (RawWebSocket if raw else WebSocket)(request, self.options)
        session = self._new_session("", transport.name, request, now, raw=raw)
        self.websockets.add(session)
        return self._receiver(session, transport, now)

    def websocket_closed(self, session: Session) -> None:
        """The websocket of ``session`` is gone."""
        self.websockets.discard(session)
        session.interrupt()

    def admit(self, session: Session, kind: str, key: str, date: float) -> bool:
        """Count ``session`` as one of ``kind`` ``key``'s (``"user"``, ``"42"``), within
        ``max_sessions_per_<kind>``; False when that many are open already (the caller
        refuses the session)."""
        limit = getattr(self.options, "max_sessions_per_" + kind)
        if self.quotas.take(session, kind, key, limit):
            return True
        self._refused(kind, key, limit, session.prefix, date)
        return False

    def shutdown(self) -> int:
        """Close every session with 1001 "Server shutting down": their clients reconnect,
        to another worker. Messages already queued are delivered before the close frame.
        Returns how many sessions were open. New sessions are refused from then on: the
        worker may accept connections for a moment longer, and a client reconnecting at once
        must not open a session there only to lose it when the worker exits."""
        self.shutting_down = True
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

    def websocket_message(self, session: Session, data: str, now: float) -> None:
        """One websocket text message; raises :class:`~.exceptions.BrokenJSON` if it's not
        SockJS JSON (the I/O layer then closes the socket). The frame was charged to the
        session's message rate (one token); each message it carries past the first costs one
        more, charged before any runs: one frame of a thousand messages is a thousand."""
        if session.raw:
            session.receive([data])
        elif data:
            messages = decode_messages(data, allow_bare_string=True)
            if len(messages) < 2 or session.spend(now, len(messages) - 1):
                session.receive(messages)

    def tick(self, now: float) -> list[Session]:
        """Expire sessions whose receiver has been gone for ``disconnect_delay``."""
        return self.store.expire(now)

    # -- internals -------------------------------------------------------------------------

    def _transport(self, request: Request) -> tuple[Route, type[Transport]] | None:
        """The session route of ``request`` and its transport class, when the transport
        exists and allows the request's method."""
        session_route = route(request.path)
        if session_route.kind != "session":
            return None
        cls = TRANSPORTS.get(session_route.transport)
        if cls is None or request.method not in cls.methods:
            return None
        return session_route, cls

    def _dispatch(self, request: Request, now: float) -> Response | Stream | Upgrade:
        options = self.options
        if not host_allowed(request, options.allowed_hosts, options.use_x_forwarded_host):
            self._count(
                "refused_hosts",
                request.date,
                "%s %s from %s: Host %r is not in ALLOWED_HOSTS (400)",
                request.method,
                request.prefix or "/",
                request.remote_addr or "?",
                request_host(request, options.use_x_forwarded_host)[:100],
            )
            return text_response(400, "Host not allowed.")
        target = route(request.path)
        method = request.method
        if target.kind == "greeting":
            return pages.greeting() if method in ("GET", "HEAD") else method_not_allowed(("GET",))
        if target.kind == "info":
            if method == "OPTIONS":
                return options_response(request, ("OPTIONS", "GET"))
            return (
                pages.info(request, self.options)
                if method == "GET"
                else method_not_allowed(("OPTIONS", "GET"))
            )
        if target.kind == "iframe":
            return (
                self.iframe.response(request) if method == "GET" else method_not_allowed(("GET",))
            )
        if target.kind in ("raw_websocket", "session") and not origin_allowed(
            request, self.options.allowed_origins
        ):
            logger.warning(
                "%s %s: origin %r not allowed",
                request.method,
                request.prefix or "/",
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
            return options_response(request, ("OPTIONS", *cls.methods))
        if method not in cls.methods:
            return method_not_allowed(cls.methods + (("OPTIONS",) if cls.cors else ()))
        transport = cls(request, self.options)
        if isinstance(transport, SendingTransport):
            return self._send(target.session_id, transport, now)
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
        headers = transport.headers()
        session = self.store.get(session_id)
        if session is None:
            # Bound before on_open runs, so that the connection knows its client's credential
            # (the key set now, for a client that has none yet).
            credential, cookie = None, None
            if self.options.bind_sessions:
                credential = binding.credential(request, self.options.identity_cookies)
                if credential is None:
                    credential, cookie = binding.new_key(request)
            session = self._new_session(
                session_id, transport.name, request, now, credential=credential
            )
            # on_open may have let other greenlets run (a database, Redis), and a request
            # for the same id may have stored its session meanwhile: the first stored is the
            # session, this one is closed at once (its on_close runs, its places are freed).
            stored = self.store.get(session_id)
            if stored is not None:
                session.expire()
                session = stored
                self._same_client(session, request)
            else:
                if cookie is not None:
                    headers.append(cookie)
                self.store.add(session)
        else:
            self._same_client(session, request)
        return Stream(200, headers, transport.prelude(), self._receiver(session, transport, now))

    def _send(self, session_id: str, transport: SendingTransport, now: float) -> Response:
        request = transport.request
        session = self.store.get(session_id)
        if session is None or session.is_closed:
            raise SessionNotFound()
        self._same_client(session, request)
        if len(request.body) > self.options.max_request_body:
            raise PayloadTooLarge()
        messages = decode_messages(transport.payload())
        if session.spend(now, len(messages)):
            session.receive(messages)
        return transport.success()

    def _same_client(self, session: Session, request: Request) -> None:
        """Refuse (as if the session did not exist) a request that names a session opened
        by another client, or under another prefix. The log line does not name the session."""
        same = session.prefix == request.prefix and (
            not self.options.bind_sessions
            or binding.same_client(
                session.credential,
                binding.credential(request, self.options.identity_cookies),
            )
        )
        if same:
            return
        self._count(
            "foreign_requests",
            request.date,
            "%s %s .../%s from %s: refused a request for a session another client opened (404)",
            request.method,
            request.prefix or "/",
            request.path.rsplit("/", 1)[-1],
            request.remote_addr or "?",
        )
        raise SessionNotFound()

    def _refused(self, kind: str, key: str, limit: int, prefix: str, date: float) -> None:
        """Count a refusal by ``max_sessions_per_<kind>``."""
        self._count(
            "refused_per_" + kind,
            date,
            "%s: %d sessions open for %s %s%s (max_sessions_per_%s): refusing more",
            prefix or "/",
            limit,
            kind,
            key,
            "" if self.quotas.shared is None else " in every worker",
            kind,
        )

    def _count(self, counter: str, date: float, message: str, *args: object) -> None:
        """Add one to ``counter``; log ``message`` for the first of an episode only (the
        same refusal may come many times a second), saying where the others are counted."""
        setattr(self.counters, counter, getattr(self.counters, counter) + 1)
        episode = self.episodes.setdefault(counter, Episode())
        if episode.hit(date):
            logger.warning(
                message + "; further ones are counted (stats: %s), not logged, until a "
                "minute passes without one",
                *args,
                counter,
            )

    def _new_session(
        self,
        session_id: str,
        transport: str,
        request: Request,
        now: float,
        *,
        raw: bool = False,
        credential: str | None = None,
    ) -> Session:
        options = self.options
        if self.shutting_down:
            raise ShuttingDown()
        if self.open_sessions() >= options.max_sessions:
            self._count(
                "refused_full",
                request.date,
                "%s: %d sessions open in this process (max_sessions): refusing new ones "
                "(503 / 1013)",
                request.prefix or "/",
                self.open_sessions(),
            )
            raise TooManySessions()
        address = client_key(request.remote_addr)
        limit = options.max_sessions_per_address
        if limit and self.quotas.count("address", address) >= limit:
            self._refused("address", address, limit, request.prefix, request.date)
            raise TooManyFromAddress()
        session = Session(
            session_id,
            transport=transport,
            disconnect_delay=options.disconnect_delay,
            now=now,
            raw=raw,
            max_message_size=options.max_message_size,
            max_queued_bytes=options.max_queued_bytes,
            counters=self.counters,
            prefix=request.prefix,
            address=address,
            bucket=(
                TokenBucket(options.max_message_rate, max(1, options.max_message_burst))
                if options.max_message_rate > 0
                else None
            ),
        )
        session.server = self
        session.credential = credential
        if not self.quotas.take(session, "address", address, limit):
            # Within this process's count (checked above), not within every process's.
            self.counters.sessions_opened -= 1
            self._refused("address", address, limit, request.prefix, request.date)
            raise TooManyFromAddress()
        connection = self.connection_factory(session)
        if not raw and connection.opens_with_message(request):
            session.open_with_message(
                connection, lambda message: connection.on_open(request.with_query(message))
            )
        else:
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
