"""The connection classes: Django signals broadcast to browsers and fired by them.

Registries are per class: a subclass sees what its parents registered, and what it registers
itself never reaches its parents or siblings. A connection holds a helper for each of the
things it does only for some classes: its recovery (``history``, see :mod:`.recovery`), its
places (``presence``, see :mod:`.places`) and the checks of its user (a logged-in user, see
:mod:`.reauthentication`); the hooks an application overrides are all on the class.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Collection
from typing import Any, ClassVar

import django.dispatch
from django.http import HttpRequest

from .. import conf, databases, encoding, publishing, receivers, schemas
from ..backends import BaseBackend, Envelope, get_backend, is_redis_url
from ..backends.presence import summary
from ..backends.streams import History
from ..django_requests import build_django_request, login_key
from ..sockjs_protocol import Request, SockJSConnection
from . import registries
from .feeds import Feed, opening_feeds, own, url_arguments
from .logs import lifecycle, logger, new_episode
from .places import Places, event_places
from .reauthentication import UserChecks
from .recovery import Recovery, broadcast_history, forget_histories, opens_with_message

PUBLIC_MODULE = "clientsignal.connection"
"""Where the classes of this module are imported from."""

# Keyword arguments that clientsignal itself passes to a listened signal.
RESERVED_KEYS = schemas.RESERVED_KEYS

LOGIN_REQUIRED = (4401, "Login required")
LOGGED_OUT = (4401, "Logged out")
FORBIDDEN = (4403, "Forbidden")
TOO_MANY_FOR_USER = (4429, "Too many sessions for this user")


class BaseSignalConnection(SockJSConnection, encoding.EncodesAsUser):
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
        "id", "opening_request", "_request", "user", "kwargs", "recovery", "places",
        "user_checks",
    )  # fmt: skip

    login_required: ClassVar[bool] = False
    """Close sessions of anonymous users with 4401 "Login required"."""

    permission_required: ClassVar[tuple[str, ...]] = ()
    """Django permissions the user must have; others are closed with 4403 "Forbidden"."""

    filters_events: ClassVar[bool] = False
    """Set for classes that override :meth:`accepts` (the backend asks only those)."""

    history: ClassVar[Any] = None
    """Keep the last messages of what this class's connections receive, so that a client
    that reconnects gets what it missed: ``{"size": 100, "ttl": 300}`` (messages, seconds),
    or True for those defaults. See :mod:`clientsignal.connection.recovery`."""

    presence: ClassVar[bool] = False
    """Count this class's connections where they are (the class, its URL arguments, the
    groups they join), for :meth:`present` and :func:`clientsignal.presence`."""

    presence_events: ClassVar[bool | Collection[str]] = False
    """With ``presence``: when a user's first connection arrives in a place, the others
    there get a ``join`` event, and a ``leave`` event when their last one goes:
    ``{"user": {"id", "username"}, "where": {"kind": "room", "name": "RoomConnection",
    "args": {"room_id": 7}}}`` for a room (the class with its URL arguments, or with
    ``"args": {}`` the class when its prefix has none), ``{"kind": "group", "name":
    "team-a"}`` for a group. True: rooms and groups; or the kinds of places that send them,
    ``{"room"}`` or ``{"group"}``."""

    user_check_interval: ClassVar[float | None] = None
    """Seconds after which a logged-in connection's user is checked again (at its next event,
    or by the worker's sweep); None: ``CLIENTSIGNAL_USER_CHECK_INTERVAL``. 0: before every
    event the client sends (a session and a user query per event), and every second while it
    sends none."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.filters_events = cls.accepts is not BaseSignalConnection.accepts
        event_places(cls.presence_events)  # a kind it does not know: at once, not at a join
        forget_histories()

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
        self.recovery: Recovery | None = None
        """With ``history``: what the client missed and where it stands (see
        :mod:`.recovery`)."""
        self.places: Places | None = None
        """With ``presence``: the places the connection is counted in."""
        self.user_checks = UserChecks(self)
        """When the user is checked again (see :mod:`.reauthentication`)."""

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
        registries.register(cls, registries.LISTEN, name, signal)

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
        registries.register(cls, registries.BROADCAST, name, signal)
        registries.note_carries(cls, "room" if by else "broadcast")

        def forward(sender: Any, signal: Any = None, **kwargs: Any) -> None:
            exclude = sender.id if isinstance(sender, BaseSignalConnection) else None
            data = {**kwargs, "sender": sender}
            if by:
                url_kwargs = {key: kwargs.get(key) for key in by}
                cls.send_to_url(url_kwargs, name, data, exclude=exclude, on_commit=on_commit)
            else:
                cls.send_to_all(name, data, exclude=exclude, on_commit=on_commit)

        signal.connect(forward, weak=False, dispatch_uid=("clientsignal", cls.channel_name(), name))

    @classmethod
    def listeners(cls) -> dict[str, django.dispatch.Signal]:
        return registries.merged(cls, registries.LISTEN)

    @classmethod
    def broadcasts(cls) -> dict[str, django.dispatch.Signal]:
        return registries.merged(cls, registries.BROADCAST)

    # -- publishing ------------------------------------------------------------------------

    @classmethod
    def channel_name(cls) -> str:
        """The class's name in its channels' names (and its resume tokens'): its module and
        qualified name; for the classes of this module, their public home,
        ``clientsignal.connection``, as when it was one module."""
        module = PUBLIC_MODULE if cls.__module__ == __name__ else cls.__module__
        return "%s.%s" % (module, cls.__qualname__)

    @classmethod
    def get_backend(cls) -> BaseBackend:
        return get_backend(cls.backend_url or conf.backend_url(), conf.backend_options())

    @classmethod
    def encode_event(cls, name: str, data: Any) -> str:
        """The event as JSON text, with this class's encoder."""
        return encoding.dumps({"event": name, "data": data}, cls.encoder())

    @classmethod
    def send_to_all(
        cls, event: str, data: Any = None, *, exclude: str | None = None, on_commit: bool = True
    ) -> None:
        """Send the event to every open connection of this class (and its subclasses) in
        every process; encoded once; after the current transaction commits (``on_commit``).
        Errors are logged, never raised to the sender."""
        publishing.publish_event(
            cls,
            lambda backend: backend.channel(cls.channel_name()),
            event,
            data,
            exclude=exclude,
            on_commit=on_commit,
            history=cls.broadcast_history(),
        )

    publish = send_to_all
    """The former name of :meth:`send_to_all`, kept."""

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
            self.recovery = Recovery(self)
            self.id = self.recovery.start(backend, request)
        user_key = self.user.pk if authenticated else None
        feeds = opening_feeds(
            type(self), backend, self.kwargs, self.id, user_key, login_key(django_request)
        )
        if self.recovery is not None:
            for feed in feeds:
                self.recovery.add(feed)
        backend.join(self, tuple(feed.channel for feed in feeds))
        if self.presence:
            self.places = Places(self)
            # Events in the most precise place only: a room's, not every room's.
            broadcast = own(feeds, "broadcast")
            assert broadcast is not None
            where = {"kind": "room", "name": name, "args": dict(self.kwargs)}
            self.places.arrive(backend, broadcast.channel, where, not self.kwargs)
            room = own(feeds, "room")
            if room is not None:
                self.places.arrive(backend, room.channel, where)
        self.user_checks.schedule(time.monotonic(), first=True)
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
        if self.recovery is not None:
            self.recovery.recover()

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
            if new_episode("accepts", cls):
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
        if not self.user_checks.check_if_due():
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
        if self.places is not None:
            self.places.depart_all(backend)
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
        feed = Feed(backend.target_channel("group", group), self.target_history(), "group", group)
        if self.recovery is not None:
            self.recovery.join(backend, feed)
        else:
            backend.join(self, (feed.channel,))
        if self.places is not None and feed.channel not in self.places:
            self.places.arrive(backend, feed.channel, feed.describe())

    def leave(self, group: str) -> None:
        """Stop receiving what is sent to ``group``."""
        backend = self.get_backend()
        channel = backend.target_channel("group", group)
        if self.places is not None and channel in self.places:
            self.places.depart(backend, channel)
        backend.leave_channels(self, (channel,))

    @classmethod
    def url_channel(cls, backend: BaseBackend, url_kwargs: dict[str, Any]) -> str:
        """The channel of this class's connections opened with these URL arguments."""
        return backend.target_channel(
            "group", "%s?%s" % (cls.channel_name(), url_arguments(url_kwargs))
        )

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
        publishing.publish_event(
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
        publishing.publish_event(
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
        if new_episode("refusal", cls):
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

    # -- what a connection receives -----------------------------------------------------------

    @classmethod
    def signal_classes(cls) -> list[type[BaseSignalConnection]]:
        """This class and its parents that are connection classes, this one first: a
        connection receives each one's broadcasts."""
        return [k for k in cls.__mro__ if issubclass(k, BaseSignalConnection)]

    @classmethod
    def broadcast_channels(cls, backend: BaseBackend) -> tuple[str, ...]:
        """The backend channels of the broadcasts a connection of this class receives: its
        own class's and every parent's (a parent's broadcasts reach subclasses)."""
        return tuple(backend.channel(k.channel_name()) for k in cls.signal_classes())

    @classmethod
    def start_serving(cls, deadline: float) -> bool:
        """Called once per process before the first request (by the worker): get ready to
        receive this class's broadcasts by ``deadline`` (``time.monotonic()``), so none sent
        right after a connection opens is missed. False if the backend was not ready."""
        backend = cls.get_backend()
        return backend.serve(cls.broadcast_channels(backend), deadline)

    def receive_positioned(self, channel: str, envelope: Envelope, literal: str) -> bool:
        """A message with a position in ``channel``'s stream, from the backend: to the
        recovery of a class with history, else queued as ever."""
        if self.recovery is None:
            return not envelope.lost and self.session.send(None, envelope.encoded)
        return self.recovery.receive(channel, envelope, literal)

    # -- history -----------------------------------------------------------------------------

    @classmethod
    def broadcast_history(cls) -> History | None:
        """What this class's broadcasts keep: the widest ``history`` of the class and its
        subclasses, whose connections receive them too."""
        return broadcast_history(cls)

    @staticmethod
    def target_history() -> History | None:
        """What messages to groups, users and single connections keep: the widest
        ``history`` of any class, since any class's connections may receive them."""
        return broadcast_history(BaseSignalConnection)

    def opens_with_message(self, request: Request) -> bool:
        """A class with history, opened with ``?recovering=1``: the client's first message
        says where it stands (see :mod:`clientsignal.connection.recovery`)."""
        return opens_with_message(request, type(self).history, self.session)

    # -- presence ----------------------------------------------------------------------------

    @classmethod
    def carries(cls, kind: str) -> bool:
        """Whether broadcasts are registered on this class itself (not only on a parent)
        that go to all its connections (``kind`` ``"broadcast"``) or by URL arguments
        (``"room"``)."""
        return registries.carries(cls, kind)

    @classmethod
    def present(cls, **url_kwargs: Any) -> list[dict[str, Any]]:
        """Who is connected to this class (with ``url_kwargs``: opened with those URL
        arguments), in every process: ``[{"user": {"id", "username"}, "connections": 2},
        ..., {"user": None, "connections": 5}]`` (anonymous visitors last)."""
        backend = cls.get_backend()
        if url_kwargs:
            place = cls.url_channel(backend, url_kwargs)
        else:
            place = backend.channel(cls.channel_name())
        return summary(backend.presence(place))

    # -- the user, checked again -------------------------------------------------------------

    @classmethod
    def check_interval(cls) -> float | None:
        """This class's interval between checks of a logged-in user; None: none but those a
        change pushes."""
        if cls.user_check_interval is not None:
            return cls.user_check_interval
        return conf.user_check_interval()

    def user_changed(self, state: str) -> None:
        """The backend says this connection's user was saved (``state``: its state now) or
        deleted (""): checked at once if what authenticates it changed."""
        self.user_checks.user_changed(state)

    def check_user(self) -> bool:
        """Authenticate the client again from the request that opened the connection, and
        apply :meth:`refusal`: True when it still acts as its user, else it is closed (see
        :mod:`.reauthentication`)."""
        return self.user_checks.check()


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


def _valid_call_id(call: Any) -> bool:
    if isinstance(call, bool):
        return False
    if isinstance(call, int):
        return -(2**53) < call < 2**53
    return isinstance(call, str) and 0 < len(call) <= 64


def _import(path: str) -> Any:
    from django.utils.module_loading import import_string

    return import_string(path)
