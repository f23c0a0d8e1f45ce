"""Presence for connection classes: who is connected where (the class, its URL arguments, its
groups), across every worker with Redis, and join/leave events to the others."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, cast

from . import publishing
from .backends import BaseBackend
from .backends.presence import Entry, summary

if TYPE_CHECKING:
    from .connection import BaseSignalConnection


class PresenceTracking:
    """What :class:`~.connection.BaseSignalConnection` does for a class with ``presence``."""

    __slots__ = ()

    presence: ClassVar[bool] = False
    """Count this class's connections where they are (the class, its URL arguments, the
    groups they join), for :meth:`present` and :func:`clientsignal.presence`."""

    presence_events: ClassVar[bool] = False
    """With ``presence``: when a user's first connection arrives in a place, the others
    there get a ``join`` event (``{"user": {"id", "username"}, "where": ...}``), and a
    ``leave`` event when their last one goes. The places with events are the groups and the
    class with its URL arguments (a room), or the class when its prefix has none."""

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

    def _entry(self) -> Entry:
        user = self.user
        if getattr(user, "is_authenticated", False):
            return Entry(str(user.pk), user.get_username(), self.id)
        return Entry("", "", self.id)

    def _arrive(self, backend: BaseBackend, place: str, where: str, events: bool = True) -> None:
        self._places[place] = where if events else None
        entry = self._entry()
        if backend.presence_add(place, entry) == 1 and entry.user_id and events:
            self._presence_event(place, "join", where, entry)

    def _depart(self, backend: BaseBackend, place: str) -> None:
        where = self._places.pop(place)
        entry = self._entry()
        if backend.presence_remove(place, entry) == 0 and entry.user_id and where is not None:
            self._presence_event(place, "leave", where, entry)

    def _presence_event(self, place: str, event: str, where: str, entry: Entry) -> None:
        if self.presence_events:
            _publish_event(type(self), place, event, where, entry, exclude=self.id)

    if TYPE_CHECKING:
        id: str
        user: Any
        _places: dict[str, str | None]

        @classmethod
        def get_backend(cls) -> BaseBackend: ...

        @classmethod
        def channel_name(cls) -> str: ...

        @classmethod
        def url_channel(cls, backend: BaseBackend, url_kwargs: dict[str, Any]) -> str: ...


def announce_departures(backend: BaseBackend, departures: list[tuple[str, Entry]]) -> int:
    """Send ``leave`` for users whose entries expired without being removed (their worker
    died: see :meth:`.BaseBackend.refresh_presence`), as their own connection would have:
    through a connection of this process in that place whose class has ``presence_events``,
    with its name for the place. Returns how many were sent."""
    sent = 0
    for place, entry in departures:
        for member in backend.hub.members(place):
            if not isinstance(member, PresenceTracking) or not member.presence_events:
                continue
            where = member._places.get(place)
            if where is None:
                continue
            _publish_event(type(member), place, "leave", where, entry)
            sent += 1
            break
    return sent


def _publish_event(
    cls: type, place: str, event: str, where: str, entry: Entry, exclude: str | None = None
) -> None:
    """``join`` or ``leave`` of ``entry``'s user, to the connections in ``place``."""
    [user] = summary([entry])
    data = {"user": user["user"], "where": where}
    sender = cast("type[BaseSignalConnection]", cls)
    publishing.publish(
        sender, lambda _backend: place, event, data, exclude=exclude, on_commit=False
    )


def presence(group: str) -> list[dict[str, Any]]:
    """Who is connected to ``group`` (connections of classes with ``presence`` that joined
    it), in every process: ``[{"user": {"id", "username"}, "connections": 2}, ...]``."""
    from .connection import SignalConnection

    backend = SignalConnection.get_backend()
    return summary(backend.presence(backend.target_channel("group", group)))
