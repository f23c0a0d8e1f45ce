"""The one path of every server-side message: encode once, log on failure, publish.

Broadcasts, ``send_to_group``, ``send_to_user``, ``send_to_connection`` and ``send_to_url`` all
come here. The event is encoded once, with the sending class's encoder, into the SockJS
message literal every receiving session queues as it is; a failure to encode is logged and
never raised into the code that sent the signal.

Sent inside a database transaction (``transaction.atomic()``), a message is published when
the transaction commits, and never if it rolls back: browsers are not told about data that was
never committed. It is encoded at once all the same (the data as it was when sent). Outside a
transaction it is published at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol

from .backends import BaseBackend, Envelope
from .backends.streams import History
from .sockjs_protocol import encode_message

logger = logging.getLogger("clientsignal")

ChannelOf = Callable[[BaseBackend], str]
"""The channel a message goes to, named by the backend that carries it."""


class Publisher(Protocol):
    """What a message is sent through: a connection class (its encoder and backend)."""

    def encode_event(self, name: str, data: Any) -> str: ...

    def get_backend(self) -> BaseBackend: ...


def publish_event(
    cls: Publisher,
    channel: ChannelOf,
    event: str,
    data: Any,
    *,
    exclude: str | None = None,
    to: str = "",
    on_commit: bool = True,
    history: History | None = None,
) -> bool:
    """Encode ``event`` with ``data`` once with ``cls``'s encoder and publish it through
    ``cls``'s backend, once the current transaction commits (``on_commit``; at once outside a
    transaction), keeping it in the channel's stream with ``history``; ``to`` names the
    target in the log line of a failure. False if it could not be encoded."""
    try:
        encoded = encode_message(cls.encode_event(event, {} if data is None else data))
    except Exception:
        logger.exception(
            "%s: cannot encode event %r%s",
            getattr(cls, "__name__", cls),
            event,
            to and " for " + to,
        )
        return False
    backend = cls.get_backend()
    envelope = Envelope(encoded, event, exclude)
    name = channel(backend)
    transaction = _open_transaction() if on_commit else None
    if transaction is None:
        backend.publish(name, envelope, history)
    else:
        transaction.on_commit(lambda: backend.publish(name, envelope, history))
    return True


def _open_transaction() -> Any:
    """The database connection of this thread (or greenlet) inside an atomic block, if any:
    the default database's when it is one of them. Connections not yet used here are not
    made just to ask."""
    from django.db import DEFAULT_DB_ALIAS, connections

    open_ = [c for c in connections.all(initialized_only=True) if _in_transaction(c)]
    if not open_:
        return None
    return next((c for c in open_ if c.alias == DEFAULT_DB_ALIAS), open_[0])


def close(backends: list[BaseBackend], channel: ChannelOf, code: int, reason: str) -> None:
    """Close every connection on ``channel``, in every process of each backend."""
    control(backends, channel, Envelope(close=(code, reason)), on_commit=False)


def control(
    backends: list[BaseBackend], channel: ChannelOf, envelope: Envelope, *, on_commit: bool
) -> None:
    """Publish an envelope that carries no event (a close, a change of user) to ``channel``
    in every process of each backend; once the current transaction commits (``on_commit``),
    so that what it tells the connections to look at is there to be seen."""
    transaction = _open_transaction() if on_commit else None
    for backend in backends:
        name = channel(backend)
        if transaction is None:
            backend.publish(name, envelope)
        else:
            transaction.on_commit(lambda b=backend, n=name: b.publish(n, envelope))


def _in_transaction(connection: Any) -> bool:
    """Inside an atomic block of the application's, not only in the ones
    ``django.test.TestCase`` wraps each test in: those never commit, and a message sent
    from a test would never go (a block of the test's own, inside one, commits in
    ``captureOnCommitCallbacks(execute=True)``, as Django's own on-commit callbacks do)."""
    if not connection.in_atomic_block:
        return False
    blocks = getattr(connection, "atomic_blocks", None)
    if not blocks:
        return True
    return any(not getattr(block, "_from_testcase", False) for block in blocks)
