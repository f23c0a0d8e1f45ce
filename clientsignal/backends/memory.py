"""The in-process backend: the default, needs nothing, reaches this process only."""

from __future__ import annotations

from typing import Any

from .base import BaseBackend, Envelope, Member
from .presence import Entry, MemoryPresence
from .streams import History, MemoryStreams, Position, Replay


class MemoryBackend(BaseBackend):
    """Delivers each message straight to the connections of this process; streams are kept
    in memory (a restart loses them: a new epoch). The own stream of a connection that closes
    is kept for its client's return within the bounds of :class:`~.streams.Retired`."""

    def __init__(self, url: str | None = None, options: dict[str, Any] | None = None) -> None:
        super().__init__(url, options)
        self.streams = MemoryStreams()
        self.present = MemoryPresence()

    def join(self, connection: Member, channels: tuple[str, ...]) -> None:
        super().join(connection, channels)
        for channel in channels:  # a connection that came back: its stream is in use again
            self.streams.retired.discard(channel)

    def leave(self, connection: Member) -> None:
        super().leave(connection)
        address = getattr(connection.session, "address", "")
        self.streams.retire(self.target_channel("connection", connection.id), address)

    def publish(self, channel: str, envelope: Envelope, history: History | None = None) -> None:
        if history is not None:
            envelope = self.streams.append(channel, history, envelope)
        self.hub.deliver(channel, envelope)

    def replay(self, channel: str, since: Position, history: History) -> Replay:
        return self.streams.replay(channel, since, history)

    def heads(self, streams: dict[str, History]) -> dict[str, Position]:
        return {
            channel: self.streams.head(channel, history) for channel, history in streams.items()
        }

    def presence_add(self, place: str, entry: Entry) -> int:
        return self.present.add(place, entry)

    def presence_remove(self, place: str, entry: Entry) -> int:
        return self.present.remove(place, entry)

    def presence(self, place: str) -> list[Entry]:
        return self.present.entries(place)
