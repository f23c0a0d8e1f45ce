"""The one greenlet of a process that receives from a backend across processes: it runs the
backend's subscription (sans greenlets: ``backends/redis/subscription.py``) and, when the
backend goes away, connects it again with backoff."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import gevent

MIN_BACKOFF = 0.1
MAX_BACKOFF = 2.0
"""Seconds between attempts to reconnect, at most: how late a worker may see Redis back after
it answers again (the session cluster waits that long for owners to claim their sessions
again: forwarding.REGISTER_WINDOW)."""


class Subscription(Protocol):
    def run(self, stopped: Callable[[], bool]) -> bool:
        """Receive until ``stopped()`` or the backend goes; True if it was reached."""
        ...

    def reconnecting(self) -> None:
        """Another attempt is about to be made (for stats)."""
        ...


def receive(subscription: Subscription, stopped: Callable[[], bool]) -> gevent.Greenlet:
    """Run ``subscription`` in a greenlet of its own until ``stopped()``."""
    return gevent.spawn(_receive_forever, subscription, stopped)


def _receive_forever(subscription: Subscription, stopped: Callable[[], bool]) -> None:
    backoff = MIN_BACKOFF
    while not stopped():
        if subscription.run(stopped):
            backoff = MIN_BACKOFF
        if stopped():
            return
        gevent.sleep(backoff)
        backoff = min(backoff * 2, MAX_BACKOFF)
        subscription.reconnecting()
