"""The module-level API: register on :class:`~.base.SignalConnection`, send to targets, ask
who is present; each through :class:`~.base.SignalConnection`'s encoder and backend."""

from __future__ import annotations

from typing import Any

import django.dispatch

from ..backends.presence import summary
from .base import SignalConnection


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


def presence(group: str) -> list[dict[str, Any]]:
    """Who is connected to ``group`` (connections of classes with ``presence`` that joined
    it), in every process: ``[{"user": {"id", "username"}, "connections": 2}, ...]``."""
    backend = SignalConnection.get_backend()
    return summary(backend.presence(backend.target_channel("group", group)))
