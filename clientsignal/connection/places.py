"""Presence for connection classes: who is connected where (the class, its URL arguments, its
groups), across every worker with Redis, and join/leave events to the others."""

from __future__ import annotations

from collections.abc import Collection
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
    presence_events: ClassVar[bool | Collection[str]]

    @classmethod
    def get_backend(cls) -> BaseBackend: ...

    @classmethod
    def encode_event(cls, name: str, data: Any) -> str: ...


PLACES_WITH_EVENTS = frozenset({"room", "group"})


def event_places(setting: bool | Collection[str]) -> frozenset[str]:
    """The kinds of places whose arrivals and departures a class's ``presence_events``
    announces: all of them for True, none for False, else the ones it names."""
    if isinstance(setting, bool):
        return PLACES_WITH_EVENTS if setting else frozenset()
    if isinstance(setting, str) or not isinstance(setting, Collection):
        raise TypeError("presence_events: True, False, or a collection of 'room', 'group'")
    kinds = frozenset(setting)
    unknown = sorted(kinds - PLACES_WITH_EVENTS)
    if unknown:
        raise ValueError(
            "presence_events names places it does not know: %s (places with events: "
            "'room', 'group')" % ", ".join(map(repr, unknown))
        )
    return kinds


class Places:
    """The places one connection of a class with ``presence`` is counted in, each with its
    name in ``join`` and ``leave`` events (None for a place without events). The connection
    holds it and calls it."""

    def __init__(self, connection: Present) -> None:
        self.connection = connection
        self.where: dict[str, dict[str, Any] | None] = {}

    def __contains__(self, place: str) -> bool:
        return place in self.where

    def entry(self) -> Entry:
        """The connection as presence counts it."""
        user = self.connection.user
        if getattr(user, "is_authenticated", False):
            return Entry(str(user.pk), user.get_username(), self.connection.id)
        return Entry("", "", self.connection.id)

    def arrive(
        self, backend: BaseBackend, place: str, where: dict[str, Any], events: bool = True
    ) -> None:
        """Count the connection in ``place`` (``where``: its name in events); its user's
        first connection there is a ``join`` for the others (with ``events``, if the class's
        ``presence_events`` announces places of its kind)."""
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

    def _announce(self, place: str, event: str, where: dict[str, Any], entry: Entry) -> None:
        connection = self.connection
        if where["kind"] in event_places(connection.presence_events):
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
            if not isinstance(places, Places):
                continue
            where = places.where.get(place)
            if where is None or where["kind"] not in event_places(
                places.connection.presence_events
            ):
                continue
            publish_presence(type(member), place, "leave", where, entry)
            sent += 1
            break
    return sent


def publish_presence(
    cls: Any,
    place: str,
    event: str,
    where: dict[str, Any],
    entry: Entry,
    exclude: str | None = None,
) -> None:
    """``join`` or ``leave`` of ``entry``'s user, to the connections in ``place``, through
    ``cls`` (a connection class: its encoder and backend)."""
    [user] = summary([entry])
    data = {"user": user["user"], "where": where}
    publishing.publish_event(
        cls, lambda _backend: place, event, data, exclude=exclude, on_commit=False
    )
