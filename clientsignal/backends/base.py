"""The backend interface: how a broadcast reaches the open connections of a class."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..connection import BaseSignalConnection

logger = logging.getLogger("clientsignal.backends")


class LocalHub:
    """The open connections of this process, by channel."""

    def __init__(self) -> None:
        self._channels: dict[str, dict[str, BaseSignalConnection]] = {}
        self._joined: dict[str, set[str]] = {}

    def add(self, connection: BaseSignalConnection, channels: tuple[str, ...]) -> None:
        """``connection`` listens on ``channels`` too (it may already listen on others)."""
        joined = self._joined.setdefault(connection.id, set())
        for channel in channels:
            joined.add(channel)
            self._channels.setdefault(channel, {})[connection.id] = connection

    def discard(self, connection: BaseSignalConnection, channels: tuple[str, ...]) -> None:
        """``connection`` no longer listens on ``channels``."""
        joined = self._joined.get(connection.id, set())
        for channel in channels:
            joined.discard(channel)
            members = self._channels.get(channel)
            if members is not None:
                members.pop(connection.id, None)
                if not members:
                    del self._channels[channel]

    def remove(self, connection: BaseSignalConnection) -> None:
        self.discard(connection, tuple(self._joined.pop(connection.id, ())))

    def channels(self) -> list[str]:
        return list(self._channels)

    def count(self, channel: str | None = None) -> int:
        if channel is None:
            return len(self._joined)
        return len(self._channels.get(channel, ()))

    def deliver(
        self, channel: str, encoded: str, exclude: str | None = None, event: str = ""
    ) -> int:
        """Queue one already-encoded message on every connection of ``channel`` but
        ``exclude`` and those whose class refuses ``event``; returns how many got it."""
        members = self._channels.get(channel)
        if not members:
            return 0
        delivered = 0
        for connection_id, connection in list(members.items()):
            if connection_id == exclude:
                continue
            if connection.filters_events and not connection.accepts(event):
                continue
            if connection.session.send(None, encoded):
                delivered += 1
        return delivered


class BaseBackend:
    """Publishes broadcasts and delivers them to this process's connections.

    ``publish`` must be safe to call from any process that has Django loaded (a web worker,
    a management command, a task worker), with or without gevent.
    """

    def __init__(self, url: str | None = None, options: dict[str, Any] | None = None) -> None:
        self.url = url
        self.options = dict(options or {})
        self.hub = LocalHub()

    def channel(self, name: str) -> str:
        prefix = self.options.get("CHANNEL_PREFIX", "clientsignal")
        return "%s:%s" % (prefix, name) if prefix else name

    def serve(self, channels: tuple[str, ...], timeout: float = 5.0) -> bool:
        """This process will serve connections on ``channels``: be ready to receive what is
        published to them (within ``timeout``). The in-process backend always is."""
        return True

    def join(self, connection: BaseSignalConnection, channels: tuple[str, ...]) -> None:
        """A connection of this process listens on ``channels`` (its class's when it opens,
        a group's when it joins one)."""
        self.hub.add(connection, channels)

    def leave_channels(self, connection: BaseSignalConnection, channels: tuple[str, ...]) -> None:
        self.hub.discard(connection, channels)

    # Channels of targeted messages: a group, every connection of a user, one connection.
    # A backend that spans processes receives them all, by pattern, and delivers locally.
    TARGETS = ("group", "user", "connection")

    def target_channel(self, kind: str, name: object) -> str:
        assert kind in self.TARGETS
        return self.channel("%s:%s" % (kind, name))

    def leave(self, connection: BaseSignalConnection) -> None:
        self.hub.remove(connection)

    def publish(
        self, channel: str, encoded: str, exclude: str | None = None, event: str = ""
    ) -> None:
        """Send an encoded message to every connection of ``channel``, in every process;
        ``event`` is its name, for connections that filter what they receive."""
        raise NotImplementedError

    def close(self) -> None:
        """Release connections and greenlets (tests, shutdown)."""
