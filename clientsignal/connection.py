"""Signal connections: Django signals broadcast to browsers and fired by them.

Registries are per class: a subclass sees what its parents registered, and what it registers
itself never reaches its parents or siblings.
"""

from __future__ import annotations

import json
import logging
import math
import time
import uuid
from collections.abc import Callable
from typing import Any, ClassVar

import django.dispatch
from django.http import HttpRequest

from . import conf, databases, encoding, publishing, receivers, schemas
from .backends import BaseBackend, get_backend, is_redis_url
from .backends.streams import History
from .django_requests import build_django_request, login_key
from .episodes import Episode
from .presence_tracking import PresenceTracking
from .reauthentication import UserChecks
from .recovery import Recovery, Streams
from .sockjs_protocol import Request, SockJSConnection

logger = logging.getLogger("clientsignal")
# Connections opening and closing, at DEBUG (like daphne's WSCONNECT / WSDISCONNECT).
lifecycle = logger.getChild("connections")

# Each class's listen and broadcast registries merged with its parents', by (class, name).
_merged_cache: dict[tuple[type, str], dict[str, django.dispatch.Signal]] = {}
# What is logged once per episode per class, by (what, class): refused client messages (a
# hostile client may send thousands a second), accepts() raising (once per broadcast).
_episodes: dict[tuple[str, type], Episode] = {}


def _new_episode(what: str, cls: type) -> bool:
    """Whether this ``what`` of ``cls`` starts an episode, and so is logged."""
    episode = _episodes.get((what, cls))
    if episode is None:
        episode = _episodes[what, cls] = Episode()
    return episode.hit(time.monotonic())


def new_log_episodes() -> None:
    """Start new episodes of the logs kept to one line per episode per class (refused
    messages, accepts raising): the next of each is logged. For tests, each of which expects
    its own log lines."""
    _episodes.clear()


# Keyword arguments that clientsignal itself passes to a listened signal.
RESERVED_KEYS = schemas.RESERVED_KEYS

LOGIN_REQUIRED = (4401, "Login required")
LOGGED_OUT = (4401, "Logged out")
FORBIDDEN = (4403, "Forbidden")
TOO_MANY_FOR_USER = (4429, "Too many sessions for this user")


class BaseSignalConnection(
    Recovery, PresenceTracking, UserChecks, SockJSConnection, encoding.EncodesAsUser
):
    """The minimum for a connection class: registries, dispatch and authentication.

    A connection builds a Django request from the request that opened the session and
    exposes it as :attr:`request`, with the session's user as :attr:`user`. The Django request
    is kept while the session opens (``on_open``), then dropped: an idle connection holds no
    environ, ``META`` or cookies of its own. Read later, :attr:`request` is built again from
    the opening request, with the same :attr:`user` (no second authentication).

    A logged-in user's connection is authenticated again from time to time, and at once when
    the user's password or ``is_active`` changes: see :mod:`.reauthentication`.
    """

    # Slotted (a subclass without __slots__ of its own gets a __dict__ for its attributes).
    __slots__ = (
        "id", "opening_request", "_request", "user", "kwargs", "streams", "_places", "_wanted",
        "_user_check_due",
    )  # fmt: skip

    login_required: ClassVar[bool] = False
    """Close sessions of anonymous users with 4401 "Login required"."""

    permission_required: ClassVar[tuple[str, ...]] = ()
    """Django permissions the user must have; others are closed with 4403 "Forbidden"."""

    filters_events: ClassVar[bool] = False
    """Set for classes that override :meth:`accepts` (the backend asks only those)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.filters_events = cls.accepts is not BaseSignalConnection.accepts

    backend_url: ClassVar[str | None] = None
    """The backend this class publishes through; None means ``CLIENTSIGNAL_BACKEND``."""

    json_encoder: ClassVar[type[json.JSONEncoder] | str | None] = None
    """This class's encoder; None means ``CLIENTSIGNAL_JSON_ENCODER``."""

    json_object_hook: ClassVar[Any] = None
    """This class's object hook; None means ``CLIENTSIGNAL_JSON_OBJECT_HOOK``."""

    def __init__(self, session: Any) -> None:
        super().__init__(session)
        self.id = uuid.uuid4().hex
        """This connection's id, for :func:`~clientsignal.send_to_connection`."""
        self.opening_request: Request | None = None
        self._request: HttpRequest | None = None
        self.user: Any = None
        """The Django user of the session (``AnonymousUser`` when not logged in), from
        :meth:`get_user`; None before the session opened."""
        self.kwargs: dict[str, Any] = {}
        """The arguments captured from the URL by the prefix's path converters."""
        self.streams: Streams | None = None
        # presence: channel -> its name in events, or None for a place without events
        self._places: dict[str, str | None] = {}
        self._wanted: dict[str, Any] = {}
        self._user_check_due = math.inf  # see .reauthentication

    def __repr__(self) -> str:
        return "<%s %s user=%s>" % (type(self).__name__, self.id, self.user)

    @property
    def request(self) -> HttpRequest | None:
        """The Django request of the request that opened the session (cookies, headers,
        query string, remote address), with ``session`` and ``user``; None before it opened.
        Built on first use; dropped once the session has opened and built again, with the
        connection's :attr:`user`, when read after that."""
        if self._request is None and self.opening_request is not None:
            self._request = build_django_request(self.opening_request, user=self.user)
        return self._request

    @request.setter
    def request(self, value: HttpRequest | None) -> None:
        self._request = value

    # -- registries ------------------------------------------------------------------------

    @classmethod
    def listen(cls, name: str, signal: django.dispatch.Signal, *, schema: Any = None) -> None:
        """Fire ``signal`` when a client of this class sends the event ``name``; its data is
        checked against ``schema`` (a dataclass or ``TypedDict``), else the signal's own
        (``Signal(schema=...)``): see :mod:`clientsignal.schemas`."""
        schemas.register(cls, name, signal, schema)
        cls._own_registry("_clientsignal_listen")[name] = signal

    @classmethod
    def broadcast(
        cls,
        name: str,
        signal: django.dispatch.Signal,
        *,
        by: tuple[str, ...] = (),
        on_commit: bool = True,
    ) -> None:
        """Send the event ``name`` to every open connection of this class whenever ``signal``
        is sent, in any process sharing the backend. With ``by`` (names of URL arguments),
        only to the connections whose URL arguments equal the signal's values for them:
        ``RoomConnection.broadcast("said", said, by=("room_id",))`` and
        ``said.send(sender=None, room_id=7, text="hi")`` reach room 7 only. A signal sent
        inside ``transaction.atomic()`` is delivered when the transaction commits, and never
        if it rolls back, unless ``on_commit=False``."""
        cls._own_registry("_clientsignal_broadcast")[name] = signal

        def forward(sender: Any, signal: Any = None, **kwargs: Any) -> None:
            exclude = sender.id if isinstance(sender, BaseSignalConnection) else None
            data = {**kwargs, "sender": sender}
            if by:
                url_kwargs = {key: kwargs.get(key) for key in by}
                cls.send_to_url(url_kwargs, name, data, exclude=exclude, on_commit=on_commit)
            else:
                cls.publish(name, data, exclude=exclude, on_commit=on_commit)

        signal.connect(forward, weak=False, dispatch_uid=("clientsignal", cls.channel_name(), name))

    @classmethod
    def listeners(cls) -> dict[str, django.dispatch.Signal]:
        return cls._merged_registry("_clientsignal_listen")

    @classmethod
    def broadcasts(cls) -> dict[str, django.dispatch.Signal]:
        return cls._merged_registry("_clientsignal_broadcast")

    @classmethod
    def _own_registry(cls, attr: str) -> dict[str, django.dispatch.Signal]:
        _merged_cache.clear()  # called to register: every class's merged view may change
        if attr not in cls.__dict__:
            setattr(cls, attr, {})
        return cls.__dict__[attr]

    @classmethod
    def _merged_registry(cls, attr: str) -> dict[str, django.dispatch.Signal]:
        # Looked up for every client message: merged once per class until the next
        # registration.
        merged = _merged_cache.get((cls, attr))
        if merged is None:
            merged = {}
            for klass in reversed(cls.__mro__):
                merged.update(klass.__dict__.get(attr, {}))
            _merged_cache[(cls, attr)] = merged
        return merged

    # -- publishing ------------------------------------------------------------------------

    @classmethod
    def channel_name(cls) -> str:
        return "%s.%s" % (cls.__module__, cls.__qualname__)

    @classmethod
    def get_backend(cls) -> BaseBackend:
        return get_backend(cls.backend_url or conf.backend_url(), conf.backend_options())

    @classmethod
    def encode_event(cls, name: str, data: Any) -> str:
        """The event as JSON text, with this class's encoder."""
        return encoding.dumps({"event": name, "data": data}, cls.encoder())

    @classmethod
    def publish(
        cls, name: str, data: Any, *, exclude: str | None = None, on_commit: bool = True
    ) -> None:
        """Send the event to every open connection of this class (and its subclasses) in
        every process; encoded once; after the current transaction commits (``on_commit``).
        Errors are logged, never raised to the sender."""
        publishing.publish(
            cls,
            lambda backend: backend.channel(cls.channel_name()),
            name,
            data,
            exclude=exclude,
            on_commit=on_commit,
            history=cls.broadcast_history(),
        )

    @classmethod
    def encoder(cls) -> type[json.JSONEncoder]:
        value = cls.json_encoder or conf.json_encoder()
        return _import(value) if isinstance(value, str) else value

    @classmethod
    def object_hook(cls) -> Any:
        value = cls.json_object_hook or conf.json_object_hook()
        return _import(value) if isinstance(value, str) else value

    # -- session events --------------------------------------------------------------------

    def run_application_code(self, func: Callable[..., object], *args: object) -> None:
        """Application code (``on_open``, receivers, calls, ``allow``, ``on_close``) runs with
        the rule of :mod:`clientsignal.databases`: in a socket worker, at most
        ``CLIENTSIGNAL_DATABASE_CONNECTIONS`` database connections per process, handed back
        when the code returns; elsewhere, connections released as at the end of a request.
        Either way an idle socket holds none."""
        databases.run(func, *args)

    def on_open(self, request: Request) -> None:
        """Authenticate the client and register the connection; call it first from an
        override. It may reject the session (login, permissions, too many sessions): check
        ``self.is_closed`` after it."""
        self.opening_request = request
        self._request = django_request = build_django_request(request)
        self.user = self.get_user(django_request)
        self.kwargs = dict(request.url_kwargs)
        name = type(self).__name__
        authenticated = bool(getattr(self.user, "is_authenticated", False))
        refusal = self.refusal(self.user)
        if refusal is not None:
            who = self.user if authenticated else "anonymous client"
            logger.info("%s: refused %s (%d %s)", name, who, *refusal)
            self.reject(*refusal)
            return
        server = self.session.server
        if (
            authenticated
            and server is not None
            and not server.admit(self.session, "user", str(self.user.pk), request.date)
        ):
            self.reject(*TOO_MANY_FOR_USER)
            return
        backend = self.get_backend()
        if History.of(self.history) is not None:
            self.streams, self.id, self._wanted = self._start_streams(backend, request)
        classes = [k for k in type(self).__mro__ if issubclass(k, BaseSignalConnection)]
        # (channel, the history it keeps, its name in a gap event)
        streams = [
            (backend.channel(k.channel_name()), k.broadcast_history(), k.__name__) for k in classes
        ]
        if self.kwargs:
            arguments = ",".join("%s=%s" % item for item in sorted(self.kwargs.items()))
            streams += [
                (
                    k.url_channel(backend, self.kwargs),
                    k.broadcast_history(),
                    "%s %s" % (k.__name__, arguments),
                )
                for k in classes
            ]
        targets = self.target_history()
        streams.append((backend.target_channel("connection", self.id), targets, "connection"))
        if authenticated:
            streams.append((backend.target_channel("user", self.user.pk), targets, "user"))
        login = login_key(django_request)
        if login is not None:
            streams.append((backend.target_channel("login", login), None, "login"))
        if self.streams is not None:
            for channel, history, stream_name in streams:
                self.streams.add(channel, history, stream_name)
        backend.join(self, tuple(channel for channel, _history, _name in streams))
        if self.presence:
            # Events in the most precise place only: a room's, not every room's.
            self._arrive(backend, backend.channel(self.channel_name()), name, not self.kwargs)
            if self.kwargs:
                where = "%s %s" % (name, arguments)
                self._arrive(backend, self.url_channel(backend, self.kwargs), where)
        self._schedule_user_check(time.monotonic(), first=True)
        lifecycle.debug(
            "connect %s %s %s user=%s transport=%s",
            name,
            self.id,
            request.prefix,
            self.user,
            self.transport,
        )

    def after_open(self) -> None:
        """The Django request is dropped (see :attr:`request`); a reconnecting client gets
        what it missed (see :mod:`.recovery`)."""
        self._request = None
        wanted, self._wanted = self._wanted, {}
        self._recover(wanted)

    def refusal(self, user: Any) -> tuple[int, str] | None:
        """Why this class does not admit ``user`` (a close code and reason), or None: asked
        when a connection opens, and again each time a logged-in user's connection is checked
        (see :mod:`.reauthentication`). By default: ``login_required`` (4401 "Login
        required") and ``permission_required`` (4403 "Forbidden"). Override to add a rule,
        returning ``super().refusal(user)`` when yours admits the user."""
        if self.login_required and not getattr(user, "is_authenticated", False):
            return LOGIN_REQUIRED
        if self.permission_required and not user.has_perms(self.permission_required):
            return FORBIDDEN
        return None

    def allow(self, event: str, data: dict[str, Any]) -> bool:
        """Whether this client may fire the listened ``event`` with ``data``; refused events
        get an ``error`` event and a log line. Override to authorize per user."""
        return True

    def accepts(self, event: str) -> bool:
        """Whether this connection receives the broadcast or targeted ``event`` (e.g. only
        staff see ``audit``). Override to filter; the message is not re-encoded for it."""
        return True

    def accepts_safely(self, event: str) -> bool:
        """:meth:`accepts`, as the backend asks it: one that raises keeps the message from
        this connection only (the sender and every other connection never see the error),
        logged with its traceback once per episode per class."""
        try:
            return bool(databases.run(self.accepts, event))
        except Exception:
            cls = type(self)
            if _new_episode("accepts", cls):
                logger.exception(
                    "%s.accepts(%r) raised: the message is not delivered to %s (further "
                    "failures of %s.accepts are not logged until a minute passes without one)",
                    cls.__name__,
                    event,
                    self.id,
                    cls.__name__,
                )
            return False

    def get_user(self, request: HttpRequest) -> Any:
        """Who this client is: by default the user of the Django session. Override for
        another kind of authentication (a token in the query string, say)."""
        return request.user

    def on_message(self, message: str) -> None:
        """One client message: ``{"event": name, "data": {...}}`` fires the listened signal;
        with ``"call": id`` too, the receivers' answer goes back as ``{"reply": id, "data":
        ...}`` (or ``{"reply": id, "error": {"message": ...}}``). A logged-in user whose check
        is due (see :mod:`.reauthentication`) is checked first: a connection that no longer
        acts as its user is closed, and its message never handled."""
        if self._user_check_due <= time.monotonic() and not self.check_user_safely():
            return
        try:
            payload = encoding.loads(message, self.object_hook())
        except (ValueError, RecursionError):
            self.refuse(None, "malformed message: not JSON")
            return
        if not isinstance(payload, dict) or not isinstance(payload.get("event"), str):
            self.refuse(None, 'malformed message: expected {"event": name, "data": {...}}')
            return
        call = payload.get("call")
        if call is not None and not _valid_call_id(call):
            self.refuse(None, "malformed message: a call id is a number or a short string")
            return
        name = payload["event"]
        data = payload.get("data", {})
        if data is None:
            data = {}
        signal = self.listeners().get(name)
        if signal is None:
            self._refuse(name, "unknown event %r" % name, call)
            return
        if not isinstance(data, dict):
            self._refuse(name, "data of event %r must be an object" % name, call)
            return
        schema = schemas.lookup(type(self), name)  # a schema says which keys it accepts
        allowed = None if schema is not None else getattr(signal, "providing_args", None)
        refused = sorted(
            key
            for key in data
            if key in RESERVED_KEYS or (allowed is not None and key not in allowed)
        )
        if refused:
            self._refuse(name, "event %r does not accept %s" % (name, ", ".join(refused)), call)
            return
        try:
            data = data if schema is None else schemas.validate(schema, data)
        except schemas.InvalidPayload as invalid:
            self._refuse(name, invalid.message(name), call, **invalid.details())
            return
        try:
            allowed_now = self.allow(name, data)
        except Exception:
            logger.exception("%s.allow(%r) raised (connection %r)", type(self).__name__, name, self)
            self._internal_error(name, call)
            return
        if not allowed_now:
            self._refuse(name, "event %r is not allowed for %s" % (name, self.user), call)
            return
        self.fire(name, signal, data, call=call)

    def on_close(self) -> None:
        backend = self.get_backend()
        for place in list(self._places):
            self._depart(backend, place)
        backend.leave(self)
        lifecycle.debug(
            "disconnect %s %s code=%s reason=%r",
            type(self).__name__,
            self.id,
            self.session.close_code,
            self.session.close_reason,
        )

    # -- groups ----------------------------------------------------------------------------

    def join(self, group: str) -> None:
        """Receive what is sent to ``group`` (:func:`send_to_group`), in any process. With
        ``history``, the client is given the group's position, and a reconnecting client gets
        what it missed of a group joined in ``on_open``. Joining after the connection closed
        (a receiver that was still running) does nothing."""
        if self.is_closed:
            return
        backend = self.get_backend()
        channel = backend.target_channel("group", group)
        if self.streams is not None:
            self._join_stream(backend, channel, "group " + group)
        else:
            backend.join(self, (channel,))
        if self.presence and channel not in self._places:
            self._arrive(backend, channel, group)

    def leave(self, group: str) -> None:
        """Stop receiving what is sent to ``group``."""
        backend = self.get_backend()
        channel = backend.target_channel("group", group)
        if channel in self._places:
            self._depart(backend, channel)
        backend.leave_channels(self, (channel,))

    @classmethod
    def url_channel(cls, backend: BaseBackend, url_kwargs: dict[str, Any]) -> str:
        """The channel of this class's connections opened with these URL arguments."""
        name = ",".join("%s=%s" % item for item in sorted(url_kwargs.items()))
        return backend.target_channel("group", "%s?%s" % (cls.channel_name(), name))

    @classmethod
    def send_to_url(
        cls,
        url_kwargs: dict[str, Any],
        event: str,
        data: Any = None,
        *,
        exclude: str | None = None,
        on_commit: bool = True,
    ) -> None:
        """Send one event to the connections of this class opened with ``url_kwargs``
        (the arguments of a prefix like ``/rooms/<int:room_id>``), in every process; after
        the current transaction commits (``on_commit``)."""
        publishing.publish(
            cls,
            lambda backend: cls.url_channel(backend, url_kwargs),
            event,
            data,
            exclude=exclude,
            to=str(url_kwargs),
            on_commit=on_commit,
            history=cls.broadcast_history(),
        )

    @classmethod
    def send_to(
        cls, kind: str, name: object, event: str, data: Any = None, *, on_commit: bool = True
    ) -> None:
        """Send one event to a target (``group``, ``user`` or ``connection``), encoded once
        with this class's encoder, through this class's backend, to every process; after the
        current transaction commits (``on_commit``)."""
        publishing.publish(
            cls,
            lambda backend: backend.target_channel(kind, name),
            event,
            data,
            to="%s %s" % (kind, name),
            on_commit=on_commit,
            history=cls.target_history(),
        )

    # -- sending ---------------------------------------------------------------------------

    def send(self, event: str, data: Any = None) -> bool:  # type: ignore[override]
        """Send one event to this client only."""
        return self.send_message(self.encode_event(event, {} if data is None else data))

    def refuse(self, event: str | None, message: str, **details: Any) -> None:
        """Tell the client its message was refused (event ``error``, with ``details``: the
        ``field`` and ``expected`` type of a schema's refusal) and log it: the first
        refusal of an episode for this class (a broken or hostile client may send thousands
        a second), the others counted in the class's ``refusals``."""
        self._log_refusal(message)
        self.send("error", {"message": message, "event": event, **details})

    def _log_refusal(self, message: str) -> None:
        cls = type(self)
        if _new_episode("refusal", cls):
            logger.warning(
                "%s %s: %s (further refused messages of %s are not logged until a minute "
                "passes without one)",
                cls.__name__,
                self.id,
                message,
                cls.__name__,
            )

    def reply(
        self, call: int | str, data: Any = None, *, error: str | None = None, **details: Any
    ) -> bool:
        """Answer the client's call ``call``: with ``data``, or with the ``error`` message
        (which the client sees: say nothing internal in it) and its ``details``."""
        body: dict[str, Any] = {"reply": call}
        if error is not None:
            body["error"] = {"message": error, **details}
        else:
            body["data"] = data
        try:
            text = encoding.dumps(body, self.encoder())
        except Exception:
            logger.exception(
                "%s %s: cannot encode the answer to a call", type(self).__name__, self.id
            )
            text = encoding.dumps({"reply": call, "error": {"message": "unencodable answer"}})
        return self.send_message(text)

    def fire(
        self,
        name: str,
        signal: django.dispatch.Signal,
        data: dict[str, Any],
        *,
        call: int | str | None = None,
    ) -> None:
        """Send ``signal`` for a client event. A failing receiver is logged with its
        traceback; the client gets an ``error`` event (or its call an error) that says only
        that handling the event failed. For a call, the answer is what the receivers returned:
        the one value that is not None, null when none is, a list in the order the receivers
        were connected when several are."""
        failed, answers = receivers.send(signal, name, self, data)
        if self.is_closed:
            return
        if failed:
            self._internal_error(name, call)
        elif call is not None:
            self.reply(call, None if not answers else answers[0] if len(answers) == 1 else answers)

    def _internal_error(self, name: str, call: int | str | None) -> None:
        """Tell the client handling its event failed, and nothing more (the log has it)."""
        message = "internal error handling %r" % name
        if call is None:
            self.send("error", {"message": message, "event": name})
        else:
            self.reply(call, error=message)

    def _refuse(self, event: str, message: str, call: int | str | None, **details: Any) -> None:
        """Refuse a message: an ``error`` event, or the error of its call."""
        if call is None:
            self.refuse(event, message, **details)
        else:
            self._log_refusal(message)
            self.reply(call, error=message, **details)

    @classmethod
    def channels(cls, backend: BaseBackend) -> tuple[str, ...]:
        """The backend channels a connection of this class listens on: its own class's and
        every parent's (a parent's broadcasts reach subclasses)."""
        return tuple(
            backend.channel(k.channel_name())
            for k in cls.__mro__
            if issubclass(k, BaseSignalConnection)
        )

    @classmethod
    def start_serving(cls, deadline: float) -> bool:
        """Called once per process before the first request (by the worker): get ready to
        receive this class's broadcasts by ``deadline`` (``time.monotonic()``), so none sent
        right after a connection opens is missed. False if the backend was not ready."""
        backend = cls.get_backend()
        return backend.serve(cls.channels(backend), deadline)


class SignalConnection(BaseSignalConnection):
    """The default connection class; the module-level ``listen`` and ``broadcast`` register
    on it, so every subclass of it sees them."""


class RedisSignalConnection(BaseSignalConnection):
    """A connection class that always uses Redis: ``CLIENTSIGNAL_BACKEND`` when it is a Redis
    URL, else ``redis://localhost:6379/0``."""

    @classmethod
    def get_backend(cls) -> BaseBackend:
        url = cls.backend_url or conf.backend_url()
        if not is_redis_url(url):
            url = "redis://localhost:6379/0"
        return get_backend(url, conf.backend_options())


class StatsConnection(BaseSignalConnection):
    """The live stats page's connection: staff only; the middleware pushes the totals to it
    every couple of seconds. Mount it with ``"/clientsignal/live": "clientsignal.connection.
    StatsConnection"`` in ``CLIENTSIGNAL_CONNECTIONS`` (not under ``/clientsignal/stats``, the
    page's own URL)."""

    login_required = True

    def refusal(self, user: Any) -> tuple[int, str] | None:
        refusal = super().refusal(user)
        if refusal is None and not getattr(user, "is_staff", False):
            return FORBIDDEN
        return refusal


def listen(name: str, signal: django.dispatch.Signal, *, schema: Any = None) -> None:
    """Register ``signal`` as a listened event on :class:`SignalConnection` (``schema``: see
    :meth:`BaseSignalConnection.listen`)."""
    SignalConnection.listen(name, signal, schema=schema)


def broadcast(name: str, signal: django.dispatch.Signal) -> None:
    """Register ``signal`` as a broadcast event on :class:`SignalConnection`."""
    SignalConnection.broadcast(name, signal)


def send_to_group(group: str, event: str, data: Any = None, *, on_commit: bool = True) -> None:
    """Send an event to every connection that joined ``group``, in every process; inside a
    transaction, when it commits (unless ``on_commit=False``)."""
    SignalConnection.send_to("group", group, event, data, on_commit=on_commit)


def send_to_user(user: Any, event: str, data: Any = None, *, on_commit: bool = True) -> None:
    """Send an event to every open connection of ``user`` (a user or its primary key): all
    their tabs, in every process; inside a transaction, when it commits."""
    SignalConnection.send_to("user", getattr(user, "pk", user), event, data, on_commit=on_commit)


def send_to_connection(
    connection_id: str, event: str, data: Any = None, *, on_commit: bool = True
) -> None:
    """Send an event to one connection, by its ``id``, wherever it is open; inside a
    transaction, when it commits."""
    SignalConnection.send_to("connection", connection_id, event, data, on_commit=on_commit)


def _valid_call_id(call: Any) -> bool:
    if isinstance(call, bool):
        return False
    if isinstance(call, int):
        return -(2**53) < call < 2**53
    return isinstance(call, str) and 0 < len(call) <= 64


def _import(path: str) -> Any:
    from django.utils.module_loading import import_string

    return import_string(path)
