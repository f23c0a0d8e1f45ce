"""Signal connections: Django signals broadcast to browsers and fired by them.

Registries are per class: a subclass sees what its parents registered, and what it registers
itself never reaches its parents or siblings.
"""

from __future__ import annotations

import io
import json
import logging
import uuid
from importlib import import_module
from typing import Any, ClassVar

import django.dispatch
from django.apps import apps
from django.conf import settings
from django.core.handlers.wsgi import WSGIRequest
from django.http import HttpRequest

from . import conf, encoding
from .backends import BaseBackend, get_backend
from .sockjs_protocol import Request, SockJSConnection, encode_message

logger = logging.getLogger("clientsignal")

# Each class's listen and broadcast registries merged with its parents', by (class, name).
_merged_cache: dict[tuple[type, str], dict[str, django.dispatch.Signal]] = {}

# Keyword arguments that clientsignal itself passes to a listened signal.
RESERVED_KEYS = frozenset({"sender", "signal", "connection"})

LOGIN_REQUIRED = (4401, "Login required")
FORBIDDEN = (4403, "Forbidden")


class BaseSignalConnection(SockJSConnection):
    """The minimum for a connection class: registries, dispatch and authentication.

    A connection builds a Django request from the request that opened the session and
    exposes it as :attr:`request`, with the session's user as :attr:`user`.
    """

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
        self.request: HttpRequest | None = None
        self.user: Any = None
        self.kwargs: dict[str, Any] = {}

    def __repr__(self) -> str:
        return "<%s %s user=%s>" % (type(self).__name__, self.id, self.user)

    # -- registries ------------------------------------------------------------------------

    @classmethod
    def listen(cls, name: str, signal: django.dispatch.Signal) -> None:
        """Fire ``signal`` when a client of this class sends the event ``name``."""
        cls._own_registry("_clientsignal_listen")[name] = signal

    @classmethod
    def broadcast(
        cls, name: str, signal: django.dispatch.Signal, *, by: tuple[str, ...] = ()
    ) -> None:
        """Send the event ``name`` to every open connection of this class whenever ``signal``
        is sent, in any process sharing the backend. With ``by`` (names of URL arguments),
        only to the connections whose URL arguments equal the signal's values for them:
        ``RoomConnection.broadcast("said", said, by=("room_id",))`` and
        ``said.send(sender=None, room_id=7, text="hi")`` reach room 7 only."""
        cls._own_registry("_clientsignal_broadcast")[name] = signal

        def forward(sender: Any, signal: Any = None, **kwargs: Any) -> None:
            exclude = sender.id if isinstance(sender, BaseSignalConnection) else None
            data = {**kwargs, "sender": sender}
            if by:
                url_kwargs = {key: kwargs.get(key) for key in by}
                cls.send_to_url(url_kwargs, name, data, exclude=exclude)
            else:
                cls.publish(name, data, exclude=exclude)

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
    def publish(cls, name: str, data: Any, *, exclude: str | None = None) -> None:
        """Send the event to every open connection of this class (and its subclasses) in
        every process; encoded once. Errors are logged, never raised to the sender."""
        try:
            encoded = encode_message(cls.encode_event(name, data))
        except Exception:
            logger.exception("%s: cannot encode broadcast event %r", cls.__name__, name)
            return
        backend = cls.get_backend()
        backend.publish(backend.channel(cls.channel_name()), encoded, exclude, name)

    @classmethod
    def encoder(cls) -> type[json.JSONEncoder]:
        value = cls.json_encoder or conf.json_encoder()
        return _import(value) if isinstance(value, str) else value

    @classmethod
    def object_hook(cls) -> Any:
        value = cls.json_object_hook or conf.json_object_hook()
        return _import(value) if isinstance(value, str) else value

    # -- session events --------------------------------------------------------------------

    def on_open(self, request: Request) -> None:
        self.request = build_django_request(request)
        self.user = self.get_user(self.request)
        self.kwargs = dict((request.environ or {}).get("clientsignal.url_kwargs") or {})
        if self.login_required and not getattr(self.user, "is_authenticated", False):
            logger.info("%s: refused anonymous client (login required)", type(self).__name__)
            self.close(*LOGIN_REQUIRED)
            return
        if self.permission_required and not self.user.has_perms(self.permission_required):
            logger.info("%s: refused %s (permissions)", type(self).__name__, self.user)
            self.close(*FORBIDDEN)
            return
        backend = self.get_backend()
        targets = [backend.target_channel("connection", self.id)]
        if self.kwargs:
            targets += [
                klass.url_channel(backend, self.kwargs)
                for klass in type(self).__mro__
                if issubclass(klass, BaseSignalConnection)
            ]
        if getattr(self.user, "is_authenticated", False):
            targets.append(backend.target_channel("user", self.user.pk))
        backend.join(self, (*self.channels(backend), *targets))

    def allow(self, event: str, data: dict[str, Any]) -> bool:
        """Whether this client may fire the listened ``event`` with ``data``; refused events
        get an ``error`` event and a log line. Override to authorize per user."""
        return True

    def accepts(self, event: str) -> bool:
        """Whether this connection receives the broadcast or targeted ``event`` (e.g. only
        staff see ``audit``). Override to filter; the message is not re-encoded for it."""
        return True

    def get_user(self, request: HttpRequest) -> Any:
        """Who this client is: by default the user of the Django session. Override for
        another kind of authentication (a token in the query string, say)."""
        return request.user

    def on_message(self, message: str) -> None:
        try:
            payload = encoding.loads(message, self.object_hook())
        except ValueError:
            self.refuse(None, "malformed message: not JSON")
            return
        if not isinstance(payload, dict) or not isinstance(payload.get("event"), str):
            self.refuse(None, 'malformed message: expected {"event": name, "data": {...}}')
            return
        name = payload["event"]
        data = payload.get("data", {})
        if data is None:
            data = {}
        signal = self.listeners().get(name)
        if signal is None:
            self.refuse(name, "unknown event %r" % name)
            return
        if not isinstance(data, dict):
            self.refuse(name, "data of event %r must be an object" % name)
            return
        allowed = getattr(signal, "providing_args", None)
        refused = sorted(
            key
            for key in data
            if key in RESERVED_KEYS or (allowed is not None and key not in allowed)
        )
        if refused:
            self.refuse(name, "event %r does not accept %s" % (name, ", ".join(refused)))
            return
        if not self.allow(name, data):
            self.refuse(name, "event %r is not allowed for %s" % (name, self.user))
            return
        self.fire(name, signal, data)

    def on_close(self) -> None:
        self.get_backend().leave(self)

    # -- groups ----------------------------------------------------------------------------

    def join(self, group: str) -> None:
        """Receive what is sent to ``group`` (:func:`send_to_group`), in any process."""
        backend = self.get_backend()
        backend.join(self, (backend.target_channel("group", group),))

    def leave(self, group: str) -> None:
        backend = self.get_backend()
        backend.leave_channels(self, (backend.target_channel("group", group),))

    @classmethod
    def url_channel(cls, backend: BaseBackend, url_kwargs: dict[str, Any]) -> str:
        """The channel of this class's connections opened with these URL arguments."""
        name = ",".join("%s=%s" % item for item in sorted(url_kwargs.items()))
        return backend.target_channel("group", "%s?%s" % (cls.channel_name(), name))

    @classmethod
    def send_to_url(
        cls, url_kwargs: dict[str, Any], event: str, data: Any = None, *, exclude: str | None = None
    ) -> None:
        """Send one event to the connections of this class opened with ``url_kwargs``
        (the arguments of a prefix like ``/rooms/<int:room_id>``), in every process."""
        try:
            encoded = encode_message(cls.encode_event(event, {} if data is None else data))
        except Exception:
            logger.exception("%s: cannot encode %r for %s", cls.__name__, event, url_kwargs)
            return
        backend = cls.get_backend()
        backend.publish(cls.url_channel(backend, url_kwargs), encoded, exclude, event)

    @classmethod
    def send_to(cls, kind: str, name: object, event: str, data: Any = None) -> None:
        """Send one event to a target (``group``, ``user`` or ``connection``), encoded once
        with this class's encoder, through this class's backend, to every process."""
        try:
            encoded = encode_message(cls.encode_event(event, {} if data is None else data))
        except Exception:
            logger.exception(
                "%s: cannot encode event %r for %s %s", cls.__name__, event, kind, name
            )
            return
        backend = cls.get_backend()
        backend.publish(backend.target_channel(kind, name), encoded, event=event)

    # -- sending ---------------------------------------------------------------------------

    def send(self, event: str, data: Any = None) -> bool:  # type: ignore[override]
        """Send one event to this client only."""
        return self.send_message(self.encode_event(event, {} if data is None else data))

    def refuse(self, event: str | None, message: str) -> None:
        """Tell the client its message was refused (event ``error``) and log it."""
        logger.warning("%s %s: %s", type(self).__name__, self.id, message)
        self.send("error", {"message": message, "event": event})

    def fire(self, name: str, signal: django.dispatch.Signal, data: dict[str, Any]) -> None:
        """Send ``signal`` for a client event; a failing receiver is logged, not raised."""
        for receiver, result in signal.send_robust(sender=self.user, connection=self, **data):
            if isinstance(result, Exception):
                logger.error(
                    "receiver %r of event %r raised (connection %r)",
                    receiver,
                    name,
                    self,
                    exc_info=(type(result), result, result.__traceback__),
                )

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
    def start_serving(cls) -> None:
        """Called once per process before the first request (by the middleware): get ready
        to receive this class's broadcasts, so none sent right after a connection opens is
        missed."""
        backend = cls.get_backend()
        if not backend.serve(cls.channels(backend)):
            logger.error("%s: the backend did not confirm its channels in time", cls.__name__)


class SignalConnection(BaseSignalConnection):
    """The default connection class; the module-level ``listen`` and ``broadcast`` register
    on it, so every subclass of it sees them."""


class StatsConnection(BaseSignalConnection):
    """The live stats page's connection: staff only; the middleware pushes the totals to it
    every couple of seconds. Mount it with ``"/clientsignal/stats": "clientsignal.connection.
    StatsConnection"`` in ``CLIENTSIGNAL_CONNECTIONS``."""

    login_required = True

    def on_open(self, request: Request) -> None:
        super().on_open(request)
        if not self.is_closed and not getattr(self.user, "is_staff", False):
            self.close(*FORBIDDEN)


def listen(name: str, signal: django.dispatch.Signal) -> None:
    """Register ``signal`` as a listened event on :class:`SignalConnection`."""
    SignalConnection.listen(name, signal)


def broadcast(name: str, signal: django.dispatch.Signal) -> None:
    """Register ``signal`` as a broadcast event on :class:`SignalConnection`."""
    SignalConnection.broadcast(name, signal)


def send_to_group(group: str, event: str, data: Any = None) -> None:
    """Send an event to every connection that joined ``group``, in every process."""
    SignalConnection.send_to("group", group, event, data)


def send_to_user(user: Any, event: str, data: Any = None) -> None:
    """Send an event to every open connection of ``user`` (a user or its primary key): all
    their tabs, in every process."""
    SignalConnection.send_to("user", getattr(user, "pk", user), event, data)


def send_to_connection(connection_id: str, event: str, data: Any = None) -> None:
    """Send an event to one connection, by its ``id``, wherever it is open."""
    SignalConnection.send_to("connection", connection_id, event, data)


def build_django_request(request: Request) -> HttpRequest:
    """A Django request from the request that opened the session (cookies, headers, query
    string, remote address), with ``session`` and ``user`` as their middleware would set them."""
    environ = dict(request.environ or {})
    environ.pop("wsgi.websocket", None)
    environ["wsgi.input"] = io.BytesIO(b"")
    environ["CONTENT_LENGTH"] = "0"
    environ.setdefault("REQUEST_METHOD", request.method)
    environ.setdefault("PATH_INFO", request.path)
    environ.setdefault("QUERY_STRING", request.query_string)
    environ.setdefault("REMOTE_ADDR", request.remote_addr)
    environ.setdefault("SERVER_NAME", "localhost")
    environ.setdefault("SERVER_PORT", "80")
    environ.setdefault("wsgi.url_scheme", "http")
    django_request = WSGIRequest(environ)
    if apps.is_installed("django.contrib.sessions"):
        engine = import_module(settings.SESSION_ENGINE)
        session_key = django_request.COOKIES.get(settings.SESSION_COOKIE_NAME)
        django_request.session = engine.SessionStore(session_key)
    if apps.is_installed("django.contrib.auth") and hasattr(django_request, "session"):
        from django.contrib.auth import get_user

        django_request.user = get_user(django_request)
    else:
        from django.contrib.auth.models import AnonymousUser

        django_request.user = AnonymousUser()
    return django_request


def _import(path: str) -> Any:
    from django.utils.module_loading import import_string

    return import_string(path)
