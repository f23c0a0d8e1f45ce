"""History: the last messages of a channel, with positions, so a client that was away gets
what it missed.

A channel that keeps history is a *stream*. Each message published to it gets a position
that only grows, and the stream has an *epoch*: a random name that changes whenever its
history is lost (it expired, Redis restarted, the process restarted), so a client's old
position is never read in a new history. A client sees a stream by a short id (a digest of
the channel's name) and a position token ``"<epoch>:<sequence>"``; it gives both back when it
reconnects, and the server replays what came after. A client that has no position in a
stream yet (it has had no message of it) is given the stream's *head*, so that it can name one
all the same: the position of its last message, or ``"<epoch>:0-0"`` while it has none.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from collections import deque
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .base import Envelope

Sequence = tuple[int, int]


@dataclass(frozen=True)
class History:
    """How much history a stream keeps: its last ``size`` messages, none older than ``ttl``
    seconds (a stream with no message for ``ttl`` seconds is forgotten: a new epoch)."""

    size: int = 100
    ttl: float = 300.0

    @classmethod
    def of(cls, value: Any) -> History | None:
        """A class's ``history`` attribute: None, True (the defaults) or a dict."""
        if not value:
            return None
        if value is True:
            return cls()
        if isinstance(value, History):
            return value
        return cls(**value)

    def wider(self, other: History | None) -> History:
        """What keeps as much as both."""
        if other is None:
            return self
        return History(max(self.size, other.size), max(self.ttl, other.ttl))


@dataclass(frozen=True)
class Position:
    """Where a client is in a stream: the stream's epoch and a message's sequence."""

    epoch: str
    sequence: Sequence

    @property
    def token(self) -> str:
        return "%s:%s" % (self.epoch, format_sequence(self.sequence))

    @classmethod
    def parse(cls, token: str) -> Position | None:
        """The position of a client's token, or None when it is not one: an epoch of ASCII
        letters and digits, a colon, a sequence (see :func:`parse_sequence`)."""
        epoch, _, sequence = token.partition(":")
        parsed = parse_sequence(sequence)
        if parsed is None or _EPOCH.fullmatch(epoch) is None:
            return None
        return cls(epoch, parsed)


_EPOCH = re.compile("[0-9A-Za-z]{1,32}")
_SEQUENCE = re.compile("([0-9]{1,20})(?:-([0-9]{1,20}))?")
_MAX_PART = 2**64 - 1
"""A Redis stream id is two unsigned 64-bit numbers."""


def parse_sequence(text: str) -> Sequence | None:
    """``"1700000000000-3"`` (a Redis stream id) or ``"42"``: ASCII digits only (``str.isdigit``
    says yes to ``"²"``, which ``int`` refuses, and to ``"١"``, which it reads as 1), each part
    within 64 bits; None for anything else."""
    found = _SEQUENCE.fullmatch(text)
    if found is None:
        return None
    first, second = int(found[1]), int(found[2] or 0)
    if first > _MAX_PART or second > _MAX_PART:
        return None
    return first, second


def format_sequence(sequence: Sequence) -> str:
    return "%d-%d" % sequence


def stream_id(channel: str) -> str:
    """The id under which clients see a channel's stream: a digest, so that the channel's name
    (a group's, a user's) is not shown."""
    return hashlib.sha256(channel.encode("utf-8")).hexdigest()[:12]


def with_position(literal: str, stream: str, token: str) -> str:
    """A message literal (``"{\\"event\\":...}"``) with its stream and position added:
    ``{"s": stream, "p": token, "event": ...}``, by joining strings (never decoded)."""
    if not literal.startswith('"{'):
        return literal
    return '"{\\"s\\":\\"%s\\",\\"p\\":\\"%s\\",%s' % (stream, token, literal[2:])


@dataclass
class Replay:
    """What a client missed in one stream: its envelopes in order (each with its position),
    or a gap (the history does not reach back to its position, or its epoch is gone)."""

    entries: list[Envelope] = field(default_factory=list)
    gap: bool = False


def new_epoch() -> str:
    return secrets.token_hex(4)


SWEEP_EVERY = 60.0
"""Seconds between two looks for in-process streams past their ttl, whose memory is freed."""


@dataclass
class _Stream:
    epoch: str
    entries: deque[tuple[Sequence, float, Envelope]]
    dropped: Sequence = (0, 0)  # the newest sequence no longer kept
    last: float = 0.0
    ttl: float = 0.0  # the longest it was asked to keep


class MemoryStreams:
    """The streams of the in-process backend: a deque per channel. Sequences are counted
    across every stream, so a replay of several streams can be put in the order the
    messages were sent (as Redis's time-based ids allow)."""

    def __init__(self, clock: Any = time.monotonic) -> None:
        self._streams: dict[str, _Stream] = {}
        self._clock = clock
        self._next = 1
        self._swept = clock()

    def __len__(self) -> int:
        """How many streams are kept."""
        return len(self._streams)

    def append(self, channel: str, history: History, envelope: Envelope) -> Envelope:
        """Keep ``envelope`` as the stream's next message: the envelope with its position."""
        now = self._clock()
        self._sweep(now)
        stream = self._streams.get(channel)
        if stream is None or now - stream.last > history.ttl:
            stream = self._streams[channel] = _Stream(new_epoch(), deque())
        stream.ttl = max(stream.ttl, history.ttl)
        self._expire(stream, history, now)
        sequence = (self._next, 0)
        self._next += 1
        stream.last = now
        positioned = replace(envelope, position=Position(stream.epoch, sequence).token)
        stream.entries.append((sequence, now, positioned))
        while len(stream.entries) > history.size:
            stream.dropped = stream.entries.popleft()[0]
        return positioned

    def head(self, channel: str, history: History) -> Position:
        """Where ``channel``'s stream is now: the position of its last message (of the newest
        one dropped, when none is kept), ``"<epoch>:0-0"`` when it has had none. A stream
        without an epoch (new, or forgotten) gets one, which its next message keeps."""
        now = self._clock()
        self._sweep(now)
        stream = self._streams.get(channel)
        if stream is None or now - stream.last > history.ttl:
            stream = self._streams[channel] = _Stream(new_epoch(), deque(), last=now)
        stream.ttl = max(stream.ttl, history.ttl)
        self._expire(stream, history, now)
        last = stream.entries[-1][0] if stream.entries else stream.dropped
        return Position(stream.epoch, last)

    def replay(self, channel: str, since: Position, history: History) -> Replay:
        """What came after ``since`` in ``channel``'s stream."""
        now = self._clock()
        stream = self._streams.get(channel)
        if stream is None or now - stream.last > history.ttl or stream.epoch != since.epoch:
            return Replay(gap=True)
        self._expire(stream, history, now)
        last = stream.entries[-1][0] if stream.entries else stream.dropped
        if since.sequence < stream.dropped or since.sequence > last:
            # Older than the history, or ahead of the stream (no server gave that position:
            # its next messages would be taken for ones the client has).
            return Replay(gap=True)
        return Replay([e for sequence, _at, e in stream.entries if sequence > since.sequence])

    def _sweep(self, now: float) -> None:
        """Every :data:`SWEEP_EVERY` seconds, forget the streams past their ttl (each
        connection's own has one): forgotten or kept, such a stream is a gap, then a new
        epoch."""
        if now - self._swept < SWEEP_EVERY:
            return
        self._swept = now
        for channel in [c for c, s in self._streams.items() if now - s.last > s.ttl]:
            del self._streams[channel]

    def _expire(self, stream: _Stream, history: History, now: float) -> None:
        while stream.entries and now - stream.entries[0][1] > history.ttl:
            stream.dropped = stream.entries.popleft()[0]
