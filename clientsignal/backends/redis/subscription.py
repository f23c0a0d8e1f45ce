"""The subscriber's side of Redis, without greenlets: one connection subscribed to what this
process's connections listen on (and, by pattern, to every targeted channel), reading what
arrives and handing it to the process's connections. On a Redis Cluster the topology's client
stands for one connection per master, subscribed to every bucket's shard channel (see
``cluster.py``); what it reads is told apart the same way. ``gevent_io/subscriber.py`` runs it in
the process's one receiving greenlet and connects it again, with backoff, when Redis goes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..base import Envelope
from .routing import REDIS_ERRORS

if TYPE_CHECKING:
    from .backend import RedisBackend

logger = logging.getLogger("clientsignal.backends.redis")

POLL_INTERVAL = 0.25
"""Seconds between the subscriber's looks for channels to add: how long, at most, a new
connection class waits for its subscription."""


class Subscription:
    """What one Redis backend receives."""

    def __init__(self, backend: RedisBackend) -> None:
        self.backend = backend

    def run(self, stopped: Callable[[], bool]) -> bool:
        """Connect, subscribe and deliver what arrives until ``stopped()`` or Redis goes
        (then the backend is told, and this returns). True if Redis confirmed a subscription
        (the caller's backoff starts over)."""
        backend = self.backend
        kept = backend.history
        answered = False
        client = pubsub = None
        try:
            client = backend.topology.subscriber()
            pubsub = client.pubsub()
            subscribed = set(backend.wanted)
            pubsub.subscribe(*subscribed)
            pubsub.psubscribe(*backend.patterns)
            # Back from an outage: each channel (pattern) is caught up once subscribed.
            behind = {*subscribed, *backend.patterns} if kept.down_since is not None else set()
            patterns = set(backend.patterns)
            while not stopped():
                missing = backend.wanted - subscribed
                if missing:
                    pubsub.subscribe(*missing)
                    subscribed |= missing
                message = pubsub.get_message(timeout=POLL_INTERVAL)
                kind = message["type"] if message is not None else None
                if kind in ("subscribe", "psubscribe", "ssubscribe"):
                    assert message is not None
                    name = message["channel"].decode("utf-8")
                    answered = True
                    backend.subscribed(name)
                    if name in behind:
                        covered = backend.routing.catch_up(name, name in patterns)
                        try:
                            kept.catch_up(kept.marks.matching(*covered))
                        except REDIS_ERRORS:
                            raise  # start over, marks kept
                        except Exception:
                            logger.exception("catching up %r failed", name)
                        behind.discard(name)
                        if not behind:
                            kept.down_since = None
                elif kind in ("message", "pmessage", "smessage"):
                    assert message is not None
                    try:
                        self.deliver(message["channel"], message["data"])
                    except Exception:
                        logger.exception("delivering a message from %r failed", message["channel"])
                if kept.lost and backend.available() and not behind:
                    kept.mark_lost()
        except REDIS_ERRORS as error:
            kept.lost_since_down()
            backend.subscriber_lost(error)
        finally:
            try:
                if pubsub is not None:
                    pubsub.close()
                if client is not None:
                    client.close()
            except REDIS_ERRORS:
                pass
        return answered

    def reconnecting(self) -> None:
        self.backend.stats["reconnects"] += 1

    def deliver(self, channel: bytes, data: bytes) -> None:
        """One message from Redis: to a worker inbox's reader, or to this process's
        connections of its channel (once: a catch-up may have delivered it already)."""
        backend = self.backend
        reader = backend.inboxes.get(channel.decode("utf-8"))
        if reader is not None:
            reader(data)
            return
        name, data = backend.routing.received(channel, data)
        backend.stats["received"] += 1
        envelope = Envelope.from_bytes(data)
        kept = backend.history
        if envelope.position is not None and not kept.marks.advance(name, envelope.position):
            return  # a catch-up delivered it already
        backend.stats["delivered"] += backend.hub.deliver(name, envelope)
