"""``SignalCommunicator``: one browser tab's websocket, with no socket.

It drives a connection class through the real sans-I/O core (the ``SockJSServer`` of the
prefix, its origin check, limits and session), the connection's real authentication from the
session cookie, and the real encoder and backend: what a test sees is what a browser would.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
import uuid
from collections import deque
from collections.abc import Mapping
from typing import Any, NamedTuple
from urllib.parse import urlencode

from django.core.signals import setting_changed
from gevent.event import Event

from .. import conf
from ..connection import BaseSignalConnection, new_log_episodes
from ..services import Match, Services
from ..sockjs_protocol import (
    Request,
    Response,
    SockJSServer,
    TooManyFromAddress,
    TooManySessions,
    Upgrade,
)
from ..sockjs_protocol.receiver import Receiver
from ..sockjs_protocol.session import Session
from . import delivery, isolation

DEFAULT_HOST = "testserver"
"""The host a communicator's requests name, as Django's test client does."""
DEFAULT_ORIGIN = "http://testserver"
"""The page a communicator's requests come from: the site itself."""


class ConnectResult(NamedTuple):
    """What :meth:`SignalCommunicator.connect` returns: ``(True, None)`` when the connection
    is open, ``(False, close_code)`` when the server refused it (``4401`` login required,
    ``4403`` forbidden or origin not allowed, ``4429`` too many sessions, ``1011`` an error
    in ``on_open``)."""

    connected: bool
    close_code: int | None


class ReceivedEvent(NamedTuple):
    """One event the server sent: ``event, data = communicator.receive()``."""

    event: str
    data: Any


class SignalConnectionClosed(AssertionError):
    """The server closed the connection (raised by ``receive()`` and ``send()``)."""

    def __init__(self, code: int | None, reason: str) -> None:
        super().__init__("the connection is closed (%s %r)" % (code, reason))
        self.code = code
        self.reason = reason


class NothingReceived(AssertionError):
    """``receive()`` waited ``timeout`` seconds and no event came."""


class CallRejected(AssertionError):
    """``call()``'s answer was an error: its ``message`` is what the browser's Promise gets;
    ``error`` the whole error object (``error.reply`` in the browser), with the ``field`` and
    ``expected`` type of a payload its schema refused."""

    def __init__(self, message: str, error: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.error: dict[str, Any] = dict(error or {"message": message})
        self.field: str | None = self.error.get("field")
        """The refused field, as a path (``items[1].qty``); None for other errors."""
        self.expected: str | None = self.error.get("expected")
        """The type the schema declares for :attr:`field`, when its value had another."""


class SignalConnectionRefused(AssertionError):
    """``with SignalCommunicator(...)`` could not connect: the server refused it."""

    def __init__(self, code: int | None, reason: str) -> None:
        super().__init__("the server refused the connection (%s %r)" % (code, reason))
        self.code = code
        self.reason = reason


class SignalCommunicator:
    """A browser's connection to one of your connection classes, for tests.

    ``path`` is the path a browser's ``new SignalSocket(path)`` names, resolved through
    ``CLIENTSIGNAL_CONNECTIONS`` like a real request (``"/rooms/7"`` for a prefix
    ``"/rooms/<int:room_id>"``: ``connection.kwargs == {"room_id": 7}``), or a connection class
    (then ``url_kwargs`` are its URL arguments).

    Who the client is: ``user=`` logs that user in (a Django session, as the test client's
    ``force_login`` makes it), ``client=`` takes the cookies of a ``django.test.Client`` (one
    you logged in with ``force_login`` or ``login``), ``cookies=``, ``headers=`` and
    ``query_string=`` give anything else your ``get_user`` reads. ``origin`` is the page the
    request comes from (the site itself by default; None sends none).

    Everything is synchronous and runs in the calling thread: ``connect()`` runs the class's
    ``on_open``, ``send()`` its listened signal's receivers, and ``receive()`` waits (on the
    thread's gevent hub, so that deliveries from a Redis subscriber or a live server can
    arrive) for the next event. Use it from one thread.
    """

    def __init__(
        self,
        path: str | type[BaseSignalConnection],
        *,
        user: Any = None,
        client: Any = None,
        cookies: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        query_string: str = "",
        origin: str | None = DEFAULT_ORIGIN,
        host: str = DEFAULT_HOST,
        remote_addr: str = "127.0.0.1",
        url_kwargs: Mapping[str, Any] | None = None,
        recovery: str | None = None,
    ) -> None:
        if user is not None and client is not None:
            raise TypeError("give user= or client=, not both")
        # What made it, for reconnected(): the same client (its cookies, once connected).
        self._made: dict[str, Any] = dict(
            path=path, user=user, client=client, cookies=cookies, headers=headers,
            query_string=query_string, origin=origin, host=host, remote_addr=remote_addr,
            url_kwargs=url_kwargs,
        )  # fmt: skip
        self._recovery = recovery
        if recovery is not None:
            query_string = "&".join(filter(None, [query_string, "recovering=1"]))
        self.match = _resolve(path, url_kwargs)
        self.server: SockJSServer = self.match.server
        self.user = user
        self.client = client
        self.cookies = dict(cookies or {})
        self.query_string = query_string
        self.remote_addr = remote_addr
        self.headers = {"host": host, "user-agent": "clientsignal.testing"}
        if origin is not None:
            self.headers["origin"] = origin
        self.headers.update({name.lower(): value for name, value in (headers or {}).items()})
        self.session: Session | None = None
        self.receiver: Receiver | None = None
        self.close_code: int | None = None
        """The code the connection was closed (or refused) with; None while it is open."""
        self.close_reason = ""
        """The reason that came with :attr:`close_code`."""
        self._events: deque[ReceivedEvent] = deque()
        self._replies: dict[int, dict[str, Any]] = {}
        self._next_call = 1
        self.positions: dict[str, str] = {}
        """The position of the last message of each stream (or the one the server gave for a
        stream without any yet), as SignalSocket remembers it."""
        self.resume_token = ""
        """The token that lets a reconnecting client keep its connection id."""
        self._opened = False
        self._closed = False
        self._thread: int | None = None
        self._wakeup = Event()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open" if self._opened else "new"
        return "<SignalCommunicator %s %s>" % (self.match.prefix or "/", state)

    # -- the connection ------------------------------------------------------------------

    @property
    def connection(self) -> BaseSignalConnection:
        """The server side of this client: the connection object (``.user``, ``.kwargs``)."""
        if self.session is None or self.session.connection is None:
            raise RuntimeError("not connected: call connect() first")
        connection = self.session.connection
        assert isinstance(connection, BaseSignalConnection)
        return connection

    @property
    def closed(self) -> bool:
        """Whether the connection has closed, or was refused."""
        return self._closed

    def connect(self, timeout: float = delivery.SUBSCRIBE_TIMEOUT) -> ConnectResult:
        """Open the connection: the websocket handshake through the core, then the class's
        ``on_open``. Returns ``(True, None)``, or ``(False, code)`` when the server refused
        or closed it at once (its reason is in :attr:`close_reason`)."""
        if self.session is not None or self._closed:
            raise RuntimeError("connect() once per communicator")
        self._thread = threading.get_ident()
        new_log_episodes()  # a test's first refused message is logged, whatever ran before
        isolation.ensure()  # this process's tests meet no other's on a shared Redis
        factory = self.server.connection_factory
        if isinstance(factory, type) and issubclass(factory, BaseSignalConnection):
            backend = factory.get_backend()
            delivery.prepare(backend, factory.broadcast_channels(backend), timeout)
        delivery.inbox()  # deliveries from other threads come to this one's hub
        # What was published before (a previous test's join or leave, say) is delivered
        # before this connection opens, as it would be with the in-process backend.
        delivery.wait_delivered(timeout)
        request = self._request()
        now = time.monotonic()
        result = self.server.handle(request, now)
        if isinstance(result, Response):
            # The I/O layer closes a refused websocket at once with 4000 + the HTTP status.
            code = 4000 + result.status if 400 <= result.status < 500 else 1011
            return self._refused(code, result.body.decode("utf-8", "replace"))
        if not isinstance(result, Upgrade):
            return self._refused(1011, "not a websocket endpoint")
        try:
            receiver = self.server.open_websocket(request, now, raw=False)
        except TooManySessions:
            return self._refused(1013, "Try again later")
        except TooManyFromAddress:
            return self._refused(4429, "Too many sessions from this address")
        self.receiver, self.session = receiver, receiver.session
        receiver.wake = self._wakeup.set
        self._pull()
        if self._recovery is not None and not self._closed:
            self.send_raw(self._recovery)  # where it stands, first: the server opens with it
        if self._closed:
            return ConnectResult(False, self.close_code)
        return ConnectResult(True, None)

    def recovery(self) -> str:
        """What this client says first when it reconnects, as SignalSocket does: the
        :attr:`positions` it has and its :attr:`resume_token` (``recover=...&resume=...``)."""
        recover = ",".join("%s~%s" % item for item in self.positions.items())
        return urlencode({"recover": recover, "resume": self.resume_token})

    def reconnected(self) -> SignalCommunicator:
        """A new communicator for the same client (the same user, cookies and request) that
        reconnects as SignalSocket does after a drop, with this one's :meth:`recovery`: call
        its ``connect()`` (or use it in ``with``); it gets what this one missed, and its
        connection keeps this one's id."""
        return SignalCommunicator(**self._made, recovery=self.recovery())

    def disconnect(self, code: int = 1000) -> None:
        """Close the connection from the client's side (a tab closed): the class's
        ``on_close`` runs. Does nothing once closed."""
        if self._closed or self.receiver is None or self.session is None:
            self._closed = True
            return
        self._same_thread()
        self._pull()  # what the server sent before stays readable
        if not self._closed:
            self.receiver.abort(time.monotonic())
            self._closed = True
            self.close_code, self.close_reason = code, ""
        self.server.websocket_closed(self.session)

    def __enter__(self) -> SignalCommunicator:
        connected, code = self.connect()
        if not connected:
            raise SignalConnectionRefused(code, self.close_reason)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.disconnect()

    # -- client to server ----------------------------------------------------------------

    def send(self, event: str, data: Any = None) -> None:
        """Send ``event`` with ``data`` as the browser's ``sock.send(event, data)`` does; the
        listened signal's receivers have run when it returns."""
        self.send_raw(json.dumps({"event": event, "data": {} if data is None else data}))

    def send_raw(self, message: str) -> None:
        """Send one SockJS message as it is (to test what a broken client could send)."""
        self._same_thread()
        session = self._open_session()
        # One websocket frame: charged to the session's message rate like a real one.
        if session.spend(time.monotonic(), 1):
            self.server.websocket_message(session, json.dumps([message]), time.monotonic())

    def call(self, event: str, data: Any = None, timeout: float = 1.0) -> Any:
        """Call the server as the browser's ``sock.call(event, data)`` does: the receivers'
        answer (the one value, None when none answers, a list when several do). Raises
        :class:`CallRejected` with the message the browser would get."""
        self._same_thread()
        call_id, self._next_call = self._next_call, self._next_call + 1
        message = {"event": event, "data": {} if data is None else data, "call": call_id}
        self.send_raw(json.dumps(message))
        deadline = time.monotonic() + timeout
        while call_id not in self._replies:
            self._pull()
            if call_id in self._replies:
                break
            if self._closed:
                raise SignalConnectionClosed(self.close_code, self.close_reason)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise NothingReceived("no answer to %r within %.2f s" % (event, timeout))
            self._wait(remaining)
        reply = self._replies.pop(call_id)
        if "error" in reply:
            raise CallRejected(reply["error"]["message"], reply["error"])
        return reply.get("data")

    # -- server to client ----------------------------------------------------------------

    def receive(self, timeout: float = 1.0) -> ReceivedEvent:
        """The next event the server sent, waiting up to ``timeout`` seconds for it. Raises
        :class:`NothingReceived` if none came, :class:`SignalConnectionClosed` once the server
        closed the connection and every event sent before the close was read."""
        self._same_thread()
        deadline = time.monotonic() + timeout
        while True:
            self._pull()
            if self._events:
                return self._events.popleft()
            if self._closed:
                raise SignalConnectionClosed(self.close_code, self.close_reason)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise NothingReceived(
                    "no event within %.2f s on %s" % (timeout, self.match.prefix or "/")
                )
            self._wait(remaining)

    def receive_nothing(self, timeout: float = 0.1) -> bool:
        """True if no event arrives within ``timeout`` seconds (an event that does arrive stays
        readable by ``receive()``)."""
        self._same_thread()
        # On Redis, what is on its way counts: nothing must be left to arrive after this.
        delivery.wait_delivered()
        deadline = time.monotonic() + timeout
        while True:
            self._pull()
            if self._events:
                return False
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self._closed:
                return True
            self._wait(remaining)

    # -- internals ----------------------------------------------------------------------

    def _request(self) -> Request:
        cookies = dict(self.cookies)
        if self.user is not None and getattr(self.user, "is_authenticated", False):
            cookies.update(login_cookies(self.user))
        if self.client is not None:
            cookies.update({name: morsel.value for name, morsel in self.client.cookies.items()})
        self._made.update(user=None, client=None, cookies=cookies)  # the same browser again
        headers = dict(self.headers)
        if cookies:
            headers["cookie"] = "; ".join("%s=%s" % item for item in cookies.items())
        headers.setdefault("upgrade", "websocket")
        headers.setdefault("connection", "Upgrade")
        host = headers.get("host", DEFAULT_HOST)
        return Request(
            method="GET",
            path="/%03d/%s/websocket" % (next(_server_ids) % 1000, uuid.uuid4().hex),
            query_string=self.query_string,
            headers=headers,
            remote_addr=self.remote_addr,
            prefix=self.match.prefix,
            url_kwargs=dict(self.match.url_kwargs),
            server_name=host.rsplit(":", 1)[0],
            date=time.time(),
        )

    def _refused(self, code: int, reason: str) -> ConnectResult:
        self._closed = True
        self.close_code, self.close_reason = code, reason
        return ConnectResult(False, code)

    def _open_session(self) -> Session:
        if self.session is None:
            raise RuntimeError("not connected: call connect() first")
        self._pull()
        if self._closed:
            raise SignalConnectionClosed(self.close_code, self.close_reason)
        return self.session

    def _same_thread(self) -> None:
        if self._thread is not None and self._thread != threading.get_ident():
            raise RuntimeError("use a SignalCommunicator from the thread that connected it")

    def _wait(self, timeout: float) -> None:
        """Let this thread's hub run (deliveries from other threads, greenlets your code
        spawned) until something is queued for this client, ``timeout`` seconds at most."""
        self._wakeup.wait(timeout)

    def _message(self, payload: dict[str, Any]) -> None:
        """One message from the server, taken in as SignalSocket takes it: a call's answer,
        where the client stands (its resume token, the positions of streams it has had no
        message of), or an event (whose stream position is remembered)."""
        if "reply" in payload:
            self._replies[payload["reply"]] = payload
        elif "event" not in payload and ("resume" in payload or "positions" in payload):
            self.resume_token = payload.get("resume", self.resume_token)
            self.positions.update(payload.get("positions") or {})
        else:
            if "s" in payload and "p" in payload:
                self.positions[payload["s"]] = payload["p"]
            self._events.append(ReceivedEvent(str(payload.get("event")), payload.get("data")))

    def _pull(self) -> None:
        """Read every frame the session has for this client."""
        receiver = self.receiver
        if receiver is None or receiver.done:
            return
        self._wakeup.clear()
        for chunk in receiver.pull(time.monotonic()).chunks:
            frame = chunk.decode("utf-8") if isinstance(chunk, bytes) else chunk
            if frame == "o":
                self._opened = True
            elif frame.startswith("a"):
                for message in json.loads(frame[1:]):
                    self._message(json.loads(message))
            elif frame.startswith("c"):
                code, reason = json.loads(frame[1:])
                self._closed = True
                self.close_code, self.close_reason = code, reason
        if receiver.done and self.session is not None:
            self.server.websocket_closed(self.session)


_server_ids = itertools.count()


def login_cookies(user: Any) -> dict[str, str]:
    """The cookies of a Django session in which ``user`` is logged in (made as the test
    client's ``force_login`` makes it)."""
    from django.apps import apps

    if not apps.is_installed("django.contrib.sessions"):
        raise RuntimeError(
            "user= needs django.contrib.sessions: without it, give the cookies, headers or "
            "query string your connection's get_user() reads"
        )
    from django.test import Client

    client = Client()
    client.force_login(user)
    return {name: morsel.value for name, morsel in client.cookies.items()}


# -- resolving a target ----------------------------------------------------------------------

_services: Services | None = None
_class_services: dict[type, Services] = {}


def services() -> Services:
    """The services ``CLIENTSIGNAL_CONNECTIONS`` describes, made once (one ``SockJSServer`` per
    prefix, as in a worker) and again after a settings change."""
    global _services
    if _services is None:
        _services = Services.from_settings()
    return _services


def _forget_services(**kwargs: Any) -> None:
    global _services
    _services = None
    _class_services.clear()


setting_changed.connect(_forget_services, dispatch_uid="clientsignal.testing.services")


def _resolve(
    target: str | type[BaseSignalConnection], url_kwargs: Mapping[str, Any] | None
) -> Match:
    if isinstance(target, str):
        if url_kwargs:
            raise TypeError("url_kwargs= is for a class: a path carries its own arguments")
        path = "/" + target.strip("/")
        found = services().match(path)
        if found is None or found.path not in ("", "/") or found.mount == services().multiplex:
            prefixes = ", ".join(sorted(mount for mount, _server in services()))
            raise LookupError(
                "no connection class at %r in CLIENTSIGNAL_CONNECTIONS (prefixes: %s)"
                % (target, prefixes or "none")
            )
        return found
    if not (isinstance(target, type) and issubclass(target, BaseSignalConnection)):
        raise TypeError("path must be a path or a BaseSignalConnection subclass")
    kwargs = dict(url_kwargs or {})
    mount = "/" + target.__name__
    found_services = _class_services.get(target)
    if found_services is None:
        found_services = _class_services[target] = Services(
            {mount: target}, options=conf.sockjs_options()
        )
    prefix = "/".join([mount, *(str(value) for value in kwargs.values())])
    return Match(mount, prefix, "", kwargs, found_services.server_for(mount))
