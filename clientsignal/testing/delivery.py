"""Delivery between the threads of a test process that gevent has not monkey-patched.

In production every connection of a process lives in one gevent hub. A test process has
more than one thread that may hold connections: the test's own (a :class:`~.SignalCommunicator`'s
connections), a :class:`~.SignalLiveServer`'s (the browser's connections), and, with the Redis
backend, a subscriber thread of its own: redis-py's reads block the thread they run in when
the socket module is not patched, so the backend's subscriber greenlet gets a hub, and a
thread, to itself.

A connection is only ever touched in the thread that opened it. :func:`prepare` gives a
backend a :class:`ThreadedHub`, which keeps each thread's connections apart and hands a
message for another thread's connections to that thread's gevent hub
(``loop.run_callback_threadsafe``): it is delivered there the next time that thread waits on
its hub, which a communicator does in ``receive()`` and a live server all the time. A message
published in the thread that holds the connections is delivered at once, as in production.

:func:`wait_delivered` makes a round trip through each Redis subscriber: a marker published
after everything else reaches the subscriber after it (Redis keeps the order of what it
publishes), and is handed to the waiting thread's hub after what came before it.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import gevent
from gevent.event import Event

from ..backends import BaseBackend, Envelope, LocalHub, all_backends
from ..backends.base import Member

SUBSCRIBE_TIMEOUT = 5.0
"""Seconds :func:`prepare` waits for Redis to confirm a subscription."""
DELIVERY_TIMEOUT = 5.0
"""Seconds :func:`wait_delivered` waits for its round trip through a Redis subscriber."""


class Inbox:
    """Where other threads hand work to one thread: its gevent hub."""

    def __init__(self) -> None:
        self.thread = threading.get_ident()
        self._loop = gevent.get_hub().loop

    def post(self, func: Callable[..., object], *args: object) -> None:
        """Run ``func(*args)`` in a greenlet of this inbox's thread, in the order posted, the
        next time that thread waits on its hub. Safe from any thread."""
        self._loop.run_callback_threadsafe(gevent.spawn, func, *args)


_inboxes: dict[int, Inbox] = {}
_lock = threading.RLock()


def inbox() -> Inbox:
    """The current thread's inbox, made on first use."""
    ident = threading.get_ident()
    with _lock:
        found = _inboxes.get(ident)
        if found is None:
            found = _inboxes[ident] = Inbox()
        return found


def close_inbox() -> None:
    """The current thread takes no more deliveries from others (its hub is going away)."""
    with _lock:
        _inboxes.pop(threading.get_ident(), None)


class ThreadedHub(LocalHub):
    """A :class:`~clientsignal.backends.LocalHub` per thread that holds connections.

    ``deliver`` gives a message to the current thread's connections at once and posts it to
    every other thread's :class:`Inbox`; a thread without an inbox gets it at once too (the
    plain hub's behaviour).
    """

    def __init__(self, adopted: LocalHub | None = None) -> None:
        super().__init__()
        self._hubs: dict[int, LocalHub] = {}
        self._owners: dict[str, int] = {}
        if adopted is not None and adopted.count():
            # Connections joined before the hub was replaced belong to this thread.
            self._hubs[threading.get_ident()] = adopted

    def _snapshot(self) -> list[tuple[int, LocalHub]]:
        with _lock:
            return list(self._hubs.items())

    def _hub_of(self, connection: Member) -> LocalHub | None:
        with _lock:
            owner = self._owners.get(connection.id, threading.get_ident())
            return self._hubs.get(owner)

    def add(self, connection: Member, channels: tuple[str, ...]) -> None:
        ident = threading.get_ident()
        with _lock:
            owner = self._owners.setdefault(connection.id, ident)
            hub = self._hubs.get(owner)
            if hub is None:
                hub = self._hubs[owner] = LocalHub()
        hub.add(connection, channels)

    def discard(self, connection: Member, channels: tuple[str, ...]) -> list[str]:
        hub = self._hub_of(connection)
        if hub is None:
            return []
        return [channel for channel in hub.discard(connection, channels) if not self.count(channel)]

    def remove(self, connection: Member) -> list[str]:
        hub = self._hub_of(connection)
        with _lock:
            self._owners.pop(connection.id, None)
        if hub is None:
            return []
        return [channel for channel in hub.remove(connection) if not self.count(channel)]

    def channels(self) -> list[str]:
        found: dict[str, None] = {}
        for _ident, hub in self._snapshot():
            found.update(dict.fromkeys(hub.channels()))
        return list(found)

    def count(self, channel: str | None = None) -> int:
        return sum(hub.count(channel) for _ident, hub in self._snapshot())

    def deliver(self, channel: str, envelope: Envelope) -> int:
        here = threading.get_ident()
        delivered = 0
        for ident, hub in self._snapshot():
            members = hub.count(channel)
            if not members:
                continue
            target = _inboxes.get(ident)
            if ident == here or target is None:
                delivered += hub.deliver(channel, envelope)
            else:
                target.post(hub.deliver, channel, envelope)
                delivered += members
        return delivered


def prepare(
    backend: BaseBackend, channels: tuple[str, ...], timeout: float = SUBSCRIBE_TIMEOUT
) -> None:
    """Make ``backend`` ready for connections of a class listening on ``channels`` in this
    thread: a :class:`ThreadedHub`, and for Redis a subscriber in a thread of its own that
    has confirmed ``channels`` (so that nothing published from now on is missed). Raises
    ``RuntimeError`` when Redis does not confirm within ``timeout`` seconds."""
    with _lock:
        if not isinstance(backend.hub, ThreadedHub):
            backend.hub = ThreadedHub(adopted=backend.hub)
    from ..backends.redis import RedisBackend

    if not isinstance(backend, RedisBackend):
        return
    deadline = time.monotonic() + timeout
    # The channel of wait_delivered()'s markers: subscribed with the class's.
    marker = _marker_channel(backend)
    backend.inboxes.setdefault(marker, _marker_arrived)
    channels = (*channels, marker)
    with _lock:
        first = backend not in _subscribed
        if first:
            _subscribed.append(backend)
    if first:
        _serve_in_thread(backend, channels, deadline)
    else:
        # The subscriber exists: serve() only adds the channels, and waits for them.
        backend.serve(channels, deadline)
    for channel in backend.receiving(channels):
        if not backend.wait_subscribed(channel, deadline - time.monotonic()):
            raise RuntimeError(
                "clientsignal.testing: Redis (%s) did not confirm the subscription to %r "
                "within %.0f s: is redis-server running there?" % (backend.url, channel, timeout)
            )


# Redis backends whose subscriber runs in a thread of its own (at most one each).
_subscribed: list[BaseBackend] = []


def _serve_in_thread(backend: Any, channels: tuple[str, ...], deadline: float) -> None:
    """Start ``backend``'s subscriber greenlet in a new thread's hub: ``serve()`` spawns it in
    the hub of the thread that calls it first. Its blocking reads then hold that thread only;
    it hands what it receives to the connections' threads (:class:`ThreadedHub`)."""

    def run() -> None:
        try:
            backend.serve(channels, deadline)
            # serve() returns whenever the subscriber yields (while it reconnects): keep
            # its hub running until the backend is closed and forgotten.
            while backend in all_backends():
                gevent.sleep(0.5)
        finally:
            with _lock:
                if backend in _subscribed:
                    _subscribed.remove(backend)

    thread = threading.Thread(target=run, name="clientsignal-redis-subscriber", daemon=True)
    thread.start()


# wait_delivered()'s markers on their way: token -> the waiting thread's inbox and event.
_markers: dict[str, tuple[Inbox, Event]] = {}


def _marker_channel(backend: Any) -> str:
    return backend.channel("testing:delivered:%s" % backend.worker)


def _marker_arrived(data: bytes) -> None:
    """In the subscriber's thread: everything published before the marker was handed on;
    wake its waiter once what was handed to the waiter's thread has been delivered there."""
    with _lock:
        found = _markers.pop(data.decode("utf-8"), None)
    if found is not None:
        target, arrived = found
        target.post(arrived.set)  # after what was posted to that thread before


def wait_delivered(timeout: float = DELIVERY_TIMEOUT) -> None:
    """Return once everything published so far (by this process or any other) has been
    delivered to the connections of this thread, and handed to those of other threads: a
    round trip through the subscriber of each Redis backend a communicator or a live server
    uses. With the in-process backend delivery is synchronous: nothing to wait for. Raises
    ``RuntimeError`` when a round trip takes more than ``timeout`` seconds."""
    alive = all_backends()
    with _lock:
        backends = [backend for backend in _subscribed if backend in alive]
    for backend in backends:
        _round_trip(backend, timeout)


def _round_trip(backend: Any, timeout: float) -> None:
    from ..backends.redis.url import safe_url

    token = uuid.uuid4().hex
    arrived = Event()
    with _lock:
        _markers[token] = (inbox(), arrived)
    if not backend.post(_marker_channel(backend), token.encode("utf-8"), heard=True):
        with _lock:
            _markers.pop(token, None)
        raise RuntimeError(
            "clientsignal.testing: Redis (%s) did not take the delivery marker: it is away, "
            "or this process's subscriber is not subscribed" % safe_url(backend.url)
        )
    if not arrived.wait(timeout):
        with _lock:
            _markers.pop(token, None)
        raise RuntimeError(
            "clientsignal.testing: what was published to Redis (%s) was not delivered within "
            "%.1f s" % (safe_url(backend.url), timeout)
        )
