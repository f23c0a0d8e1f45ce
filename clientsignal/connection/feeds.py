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
    """One channel a connection receives.

    ``kind`` is what it carries: ``"broadcast"`` (a class's broadcasts), ``"room"`` (a
    class's for these URL arguments), ``"connection"``, ``"user"``, ``"login"`` or
    ``"group"``; ``owner`` the class of a broadcast or room feed (the connection's own, or a
    parent), else None."""

    channel: str
    history: History | None
    name: str
    kind: str
    owner: type | None = None


def url_arguments(url_kwargs: dict[str, Any]) -> str:
    """URL arguments as channel and stream names spell them: ``a=1,b=2``, sorted."""
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
    as it opens: its classes' broadcasts (its own first), the same for its URL arguments,
    its own, its user's (``user_key``: the primary key of a logged-in user, else None) and
    its Django session's (``login``)."""
    classes = cls.signal_classes()
    feeds = [
        Feed(backend.channel(k.channel_name()), k.broadcast_history(), k.__name__, "broadcast", k)
        for k in classes
    ]
    if url_kwargs:
        arguments = url_arguments(url_kwargs)
        feeds += [
            Feed(
                k.url_channel(backend, url_kwargs),
                k.broadcast_history(),
                "%s %s" % (k.__name__, arguments),
                "room",
                k,
            )
            for k in classes
        ]
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


def own(feeds: list[Feed], kind: str, cls: type) -> Feed | None:
    """The feed of ``kind`` (``"broadcast"`` or ``"room"``) that is ``cls``'s own."""
    return next((feed for feed in feeds if feed.kind == kind and feed.owner is cls), None)
