"""No event lost across a reconnect: what a returning client missed is replayed, in order,
once, before anything new.

A connection of a class with ``history`` knows the streams it receives (its class's
broadcasts, by URL argument, its groups, its user, itself) and, for each, the position of the
last message it delivered. A reconnecting client names, in its opening request
(``?recover=<stream>~<position>,...``), where it was in each; the new connection holds what
arrives live while it replays what came after those positions, then delivers the held
messages that are newer, so the seam has neither a gap nor a duplicate. A stream whose
history does not reach back that far, or whose epoch changed, is named in a ``gap`` event
instead: the application refetches its state.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.core import signing

from .backends.streams import History, Position, Sequence, stream_id, with_position

if TYPE_CHECKING:
    from .backends import BaseBackend, Envelope

MAX_STREAMS = 64
"""Streams one recovery request may name; more are ignored."""

RESUME_SALT = "clientsignal.resume"
RESUME_MAX_AGE = 24 * 60 * 60
"""Seconds a client may present its resume token (its connection's id) after it was given."""


def requested(query: dict[str, str]) -> dict[str, Position | None]:
    """The positions a reconnecting client names, by stream id (None: not a position)."""
    wanted: dict[str, Position | None] = {}
    for part in query.get("recover", "").split(",")[:MAX_STREAMS]:
        sid, sep, token = part.partition("~")
        if sep and sid:
            wanted[sid] = Position.parse(token)
    return wanted


def resume_token(connection_id: str, class_name: str, user_key: Any) -> str:
    """What lets a client's next connection take this one's id (and so its own stream):
    signed, bound to the class and the user."""
    return signing.dumps([connection_id, class_name, user_key], salt=RESUME_SALT, compress=False)


def resumed_id(token: str, class_name: str, user_key: Any) -> str | None:
    """The connection id a valid resume token carries, for the same class and user."""
    try:
        connection_id, name, user = signing.loads(token, salt=RESUME_SALT, max_age=RESUME_MAX_AGE)
    except (signing.BadSignature, ValueError, TypeError):
        return None
    if name != class_name or user != user_key or not isinstance(connection_id, str):
        return None
    return connection_id


@dataclass
class _Stream:
    history: History
    name: str


class Streams:
    """One connection's streams: the channels it receives that keep history, the last
    position it delivered in those a replay touched, and what arrives while it replays."""

    def __init__(self) -> None:
        self.by_channel: dict[str, _Stream] = {}
        self.seen: dict[str, tuple[str, Sequence]] = {}
        self.held: list[tuple[str, Envelope, str]] | None = None

    def add(self, channel: str, history: History | None, name: str) -> None:
        if history is not None:
            self.by_channel[channel] = _Stream(history, name)

    def receive(
        self, channel: str, envelope: Envelope, literal: str, send: Callable[[str], bool]
    ) -> bool:
        """A live message with a position: held during a replay; after it, dropped if the
        replay delivered it already."""
        if self.held is not None:
            self.held.append((channel, envelope, literal))
            return True
        if self.seen and channel in self.seen:
            position = Position.parse(envelope.position or "")
            epoch, last = self.seen[channel]
            if position is not None and position.epoch == epoch:
                if position.sequence <= last:
                    return False
                del self.seen[channel]  # past the seam: no duplicate can come any more
        return send(literal)

    def replay(
        self,
        backend: BaseBackend,
        wanted: dict[str, Position | None],
        deliverable: Callable[[Envelope], bool],
        send: Callable[[str], bool],
    ) -> list[dict[str, str]]:
        """Replay what came after the client's positions, in order, then what was held
        meanwhile; the streams it cannot replay (a gap), as ``{"id", "name"}``."""
        by_id = {stream_id(channel): channel for channel in self.by_channel}
        entries: list[tuple[Sequence, str, Envelope]] = []
        gaps = []
        for sid, position in wanted.items():
            channel = by_id.get(sid)
            if channel is None:
                continue  # not one of this connection's streams: nothing of it is shown
            stream = self.by_channel[channel]
            replay = None if position is None else backend.replay(channel, position, stream.history)
            if position is None or replay is None or replay.gap:
                gaps.append({"id": sid, "name": stream.name})
                continue
            self.seen[channel] = (position.epoch, position.sequence)
            for envelope in replay.entries:
                entry = Position.parse(envelope.position or "")
                if entry is not None:
                    entries.append((entry.sequence, channel, envelope))
        entries.sort(key=lambda entry: entry[0])
        for sequence, channel, envelope in entries:
            if deliverable(envelope):
                epoch = self.seen[channel][0]
                self.seen[channel] = (epoch, sequence)
                send(with_position(envelope.encoded, stream_id(channel), envelope.position or ""))
        held, self.held = self.held or [], None
        for channel, envelope, literal in held:
            self.receive(channel, envelope, literal, send)
        return gaps
