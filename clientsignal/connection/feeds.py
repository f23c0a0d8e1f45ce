"""What one connection receives: the channels it joins as it opens, computed once.

A connection receives its class's broadcasts and each parent class's (a parent's broadcasts
reach subclasses), the same again for its URL arguments (a room: ``/rooms/<int:room_id>``),
what is sent to it alone, to its user, and to its Django session (a logout), and later the
groups it joins. Each is a :class:`Feed`: the backend channel, the history its messages keep
(see :mod:`.recovery`) and the name a ``gap`` event gives it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..backends import BaseBackend
    from ..backends.streams import History


@dataclass(frozen=True, slots=True)
class Feed:
    """One channel a connection receives, named the way the application sends to it.

    ``kind`` is what it carries: ``"broadcast"`` (what ``broadcast()`` and ``send_to_all``
    send to a class), ``"room"`` (what is sent to a class's connections opened with the URL
    arguments ``args``: ``broadcast(..., by=...)``, ``send_to_url``), ``"group"``
    (``send_to_group``), ``"user"`` (``send_to_user``), ``"connection"``
    (``send_to_connection``) or ``"login"`` (a logout); ``name`` the class of a broadcast
    or room, the group's name, else the kind. ``history`` is what its messages keep (None:
    the connection does not track it as a stream)."""

    channel: str
    history: History | None
    kind: str
    name: str
    args: dict[str, Any] | None = None

    def describe(self) -> dict[str, Any]:
        """As ``gap`` and presence events name it: ``{"kind", "name"}``, and the ``args``
        of a room."""
        described: dict[str, Any] = {"kind": self.kind, "name": self.name}
        if self.args is not None:
            described["args"] = dict(self.args)
        return described


def url_arguments(url_kwargs: dict[str, Any]) -> str:
    """URL arguments as channel names spell them: ``a=1,b=2``, sorted."""
    return ",".join("%s=%s" % item for item in sorted(url_kwargs.items()))


def opening_feeds(
    cls: Any,
    backend: BaseBackend,
    url_kwargs: dict[str, Any],
    connection_id: str,
    user_key: Any,
    login: str | None,
) -> list[Feed]:
    """The feeds a connection of ``cls`` (a :class:`~.base.BaseSignalConnection`) joins
    as it opens: the broadcasts of its class and of each parent, the same for its URL
    arguments (a room), its own, its user's (``user_key``: the primary key of a logged-in
    user, else None) and its Django session's (``login``).

    Its own class's broadcasts and room are streams (with its class's history); a parent's
    only if broadcasts of that kind are registered on the parent itself (``broadcast()``,
    with ``by`` for a room): the others carry nothing, and are not named to the client (what
    ``send_to_all`` or ``send_to_url`` sends to such a parent still reaches the connection,
    live, without a position)."""
    feeds = []
    rooms = []
    for k in cls.signal_classes():
        history = k.broadcast_history()
        carries = k is cls or k.carries("broadcast")
        channel = backend.channel(k.channel_name())
        feeds.append(Feed(channel, history if carries else None, "broadcast", k.__name__))
        if url_kwargs:
            carries = k is cls or k.carries("room")
            channel = k.url_channel(backend, url_kwargs)
            args = dict(url_kwargs)
            rooms.append(Feed(channel, history if carries else None, "room", k.__name__, args))
    feeds += rooms
    targets = cls.target_history()
    feeds.append(
        Feed(
            backend.target_channel("connection", connection_id), targets, "connection", "connection"
        )
    )
    if user_key is not None:
        feeds.append(Feed(backend.target_channel("user", user_key), targets, "user", "user"))
    if login is not None:
        feeds.append(Feed(backend.target_channel("login", login), None, "login", "login"))
    return feeds


def own(feeds: list[Feed], kind: str) -> Feed | None:
    """The connection's own class's feed of ``kind`` (``"broadcast"`` or ``"room"``): the
    first, as :func:`opening_feeds` lists them."""
    return next((feed for feed in feeds if feed.kind == kind), None)
