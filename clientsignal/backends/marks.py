"""Where a process's connections stand in the streams they receive, as the process's
subscriber delivered them: so that a subscriber that lost its server for a while can read,
once it is back, what it missed (see :class:`~.redis.RedisBackend`).

A stream's *mark* is the position of the last message delivered to this process's
connections of that stream, or, before any, the head the first of them was given (virtual
for a stream that kept nothing, see :mod:`.streams`), or none (the head could not be read).
Positions only grow within an epoch and live messages come in order, so a message at or
before a delivered mark in the same epoch was delivered already (read by a catch-up, then
heard live): it is dropped. A head marks no delivery: a message published before the head
was read may still be on its way, and is delivered when it comes.
"""

from __future__ import annotations

from dataclasses import dataclass

from .streams import History, Position, virtual


@dataclass(slots=True)
class Mark:
    history: History
    position: Position | None = None
    delivered: bool = False  # the position is a message's delivered here, not a head

    @property
    def kept(self) -> bool:
        """Whether the stream was made (it had a message): the mark is a real position."""
        return self.position is not None and virtual(self.position) is None


class Marks:
    """The marks of the streams that this process's connections receive, by channel."""

    def __init__(self) -> None:
        self._marks: dict[str, Mark] = {}

    def __len__(self) -> int:
        return len(self._marks)

    def get(self, channel: str) -> Mark | None:
        return self._marks.get(channel)

    def track(self, channel: str, history: History, head: Position | None = None) -> None:
        """A connection here receives ``channel``'s stream; ``head``: where it was given to
        stand, which marks the stream if nothing does yet."""
        mark = self._marks.get(channel)
        if mark is None:
            self._marks[channel] = Mark(history, head)
            return
        mark.history = history.wider(mark.history)
        if mark.position is None:
            mark.position = head

    def advance(self, channel: str, token: str) -> bool:
        """A message at ``token`` arrived for ``channel``: False if it was delivered already,
        else it marks the stream."""
        mark = self._marks.get(channel)
        position = Position.parse(token)
        if mark is None or position is None:
            return True
        current = mark.position
        if (
            current is not None
            and current.epoch == position.epoch
            and position.sequence <= current.sequence
        ):
            return not mark.delivered  # before a head: on its way since before it was read
        mark.position, mark.delivered = position, True
        return True

    def place(self, channel: str, position: Position) -> None:
        """The stream starts again at ``position`` (a gap was said there, which stands for
        everything before it)."""
        mark = self._marks.get(channel)
        if mark is not None:
            mark.position, mark.delivered = position, True

    def forget(self, channels: list[str]) -> None:
        """No connection here receives these any more."""
        for channel in channels:
            self._marks.pop(channel, None)

    def matching(self, name: str, pattern: bool) -> list[str]:
        """The channels named ``name``, or matching it when it is a pattern (``prefix*``)."""
        if not pattern:
            return [name] if name in self._marks else []
        prefix = name[:-1]
        return [channel for channel in self._marks if channel.startswith(prefix)]
