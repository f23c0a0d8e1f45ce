"""Presence for connection classes: who is connected where (the class, its URL arguments, its
groups), across every worker with Redis, and join/leave events to the others."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from .. import publishing
from ..backends.presence import Entry, summary

if TYPE_CHECKING:
    from ..backends import BaseBackend


class Present(Protocol):
    """What :class:`Places` needs of its connection (a
    :class:`~.base.BaseSignalConnection`)."""

    id: str
    user: Any
    presence_events: ClassVar[bool]

    @classmethod
    def get_backend(cls) -> BaseBackend: ...

    @classmethod
    def encode_event(cls, name: str, data: Any) -> str: ...


class Places:
    """The places one connection of a class with ``presence`` is counted in, each with its
    name in ``join`` and ``leave`` events (None for a place without events). The connection
    holds it and calls it."""

    def __init__(self, connection: Present) -> None:
        self.connection = connection
        self.where: dict[str, str | None] = {}

    def __contains__(self, place: str) -> bool:
        return place in self.where

    def entry(self) -> Entry:
        """The connection as presence counts it."""
        user = self.connection.user
        if getattr(user, "is_authenticated", False):
            return Entry(str(user.pk), user.get_username(), self.connection.id)
        return Entry("", "", self.connection.id)

    def arrive(self, backend: BaseBackend, place: str, where: str, events: bool = True) -> None:
        """Count the connection in ``place``; its user's first connection there is a
        ``join`` for the others (with ``events``, and ``presence_events``)."""
        self.where[place] = where if events else None
        entry = self.entry()
        if backend.presence_add(place, entry) == 1 and entry.user_id and events:
            self._announce(place, "join", where, entry)

    def depart(self, backend: BaseBackend, place: str) -> None:
        """Forget the connection in ``place``; its user's last one there is a ``leave``."""
        where = self.where.pop(place)
        entry = self.entry()
        if backend.presence_remove(place, entry) == 0 and entry.user_id and where is not None:
            self._announce(place, "leave", where, entry)

    def depart_all(self, backend: BaseBackend) -> None:
        for place in list(self.where):
            self.depart(backend, place)

    def _announce(self, place: str, event: str, where: str, entry: Entry) -> None:
        connection = self.connection
        if connection.presence_events:
            publish_presence(type(connection), place, event, where, entry, exclude=connection.id)


def announce_departures(backend: BaseBackend, departures: list[tuple[str, Entry]]) -> int:
    """Send ``leave`` for users whose entries expired without being removed (their worker
    died: see :meth:`.BaseBackend.refresh_presence`), as their own connection would have:
    through a connection of this process in that place whose class has ``presence_events``,
    with its name for the place. Returns how many were sent."""
    sent = 0
    for place, entry in departures:
        for member in backend.hub.members(place):
            places = getattr(member, "places", None)
            if not isinstance(places, Places) or not places.connection.presence_events:
                continue
            where = places.where.get(place)
            if where is None:
                continue
            publish_presence(type(member), place, "leave", where, entry)
            sent += 1
            break
    return sent


def publish_presence(
    cls: Any, place: str, event: str, where: str, entry: Entry, exclude: str | None = None
) -> None:
    """``join`` or ``leave`` of ``entry``'s user, to the connections in ``place``, through
    ``cls`` (a connection class: its encoder and backend)."""
    [user] = summary([entry])
    data = {"user": user["user"], "where": where}
    publishing.publish_event(
        cls, lambda _backend: place, event, data, exclude=exclude, on_commit=False
    )
