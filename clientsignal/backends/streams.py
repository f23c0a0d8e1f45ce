"""History: the last messages of a channel, with positions, so a client that was away gets
what it missed.

A channel that keeps history is a *stream*. Each message published to it gets a position
that only grows, and the stream has an *epoch*: a random name that changes whenever its
history is lost (it expired, Redis restarted, the process restarted), so a client's old
position is never read in a new history. A client sees a stream by a short id (a digest of
the channel's name) and a position token ``"<epoch>:<sequence>"``; it gives both back when it
reconnects, and the server replays what came after. A client that has no position in a
stream yet (it has had no message of it) is given the stream's *head*, so that it can name one
all the same: the position of its last message.

A stream that keeps nothing (none of its messages yet, or its history expired) is not made for
a head: most streams of one connection (its own, its user's) never get a message, and storing
one for each connection that came and went would let anonymous clients grow the server's
memory (or Redis's keys) at will. Its head is *virtual* instead, ``"v<life><time>:0-0"``: the
*life* of the history store (a random name that changes when the store loses everything: a
process restart, Redis losing its data) and the time the head was given, in ms. Replayed from,
it means "everything of the stream, if it was made since": a stream made after that time and
lost before the replay would have had to live out its ttl in between, so a virtual position
older than the ttl, of another life, or older than the store's last early eviction (see
:class:`Retired`) is a gap; else what the stream has, if it still has its first message.
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
    or a gap (the history does not reach back to its position, or its epoch is gone).

    A gap within one history (what came right after the position is no longer kept) may
    say where what is kept resumes: ``resumes``, the position before the first of
    ``entries``, which are what follows. A client's replay gives none of it (the client is
    told of the gap and refetches); a subscriber catching up after an outage delivers the
    gap at ``resumes``, then those entries."""

    entries: list[Envelope] = field(default_factory=list)
    gap: bool = False
    resumes: Position | None = None


def new_epoch() -> str:
    return secrets.token_hex(4)


def virtual_head(life: str, at_ms: int) -> Position:
    """The head of a stream that keeps nothing, in the store's ``life``, at ``at_ms``."""
    return Position("v%s%d" % (life, at_ms), (0, 0))


def virtual(position: Position) -> tuple[str, int] | None:
    """The life and time of a virtual head; None for a position in a stream's history."""
    epoch = position.epoch
    if epoch[:1] != "v" or len(epoch) < 10 or not epoch[9:].isdigit():
        return None
    return epoch[1:9], int(epoch[9:])


def virtual_gap(position: Position, life: str, now_ms: int, ttl: float, evicted_ms: int) -> bool:
    """Whether a replay from the virtual ``position`` cannot be trusted: another life of the
    store, older than the ttl (a stream made since may have expired meanwhile), or no newer
    than the last early eviction."""
    found = virtual(position)
    assert found is not None
    at_life, at = found
    return at_life != life or now_ms - at > ttl * 1000 or at <= evicted_ms


RETAINED_PER_ADDRESS = 100
"""Streams of closed connections a process keeps for their clients' return, per client
address (an address of the attacker's can push out only its own)."""
RETAINED = 10_000
"""Streams of closed connections a process keeps in all."""


class Retired:
    """The own streams of connections that closed, kept (for their ttl) so that their clients
    can come back and get what was sent to them meanwhile: at most ``per_address`` per client
    address and ``total`` in all. Past either, :meth:`add` names the oldest to give up."""

    def __init__(self, per_address: int = RETAINED_PER_ADDRESS, total: int = RETAINED) -> None:
        self.per_address = per_address
        self.total = total
        self._address: dict[str, str] = {}  # channel -> address, oldest first
        self._by_address: dict[str, dict[str, None]] = {}  # address -> its channels in order

    def __len__(self) -> int:
        return len(self._address)

    def add(self, channel: str, address: str) -> list[str]:
        """``channel``'s connection closed; the channels to give up now."""
        self.discard(channel)
        self._address[channel] = address
        channels = self._by_address.setdefault(address, {})
        channels[channel] = None
        evicted = []
        if len(channels) > self.per_address:
            evicted.append(next(iter(channels)))
            self.discard(evicted[-1])
        if len(self._address) > self.total:
            evicted.append(next(iter(self._address)))
            self.discard(evicted[-1])
        return evicted

    def discard(self, channel: str) -> None:
        """``channel`` is no longer kept for a return: its connection is back, or it expired."""
        address = self._address.pop(channel, None)
        if address is None:
            return
        channels = self._by_address[address]
        del channels[channel]
        if not channels:
            del self._by_address[address]


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
        self.life = new_epoch()
        self.retired = Retired()
        self._evicted = -1  # ms of the clock at the last early eviction

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
        one dropped, when none is kept); a virtual head when it keeps nothing (none is made
        for it)."""
        now = self._clock()
        self._sweep(now)
        stream = self._streams.get(channel)
        if stream is None or now - stream.last > history.ttl:
            return virtual_head(self.life, int(now * 1000))
        self._expire(stream, history, now)
        last = stream.entries[-1][0] if stream.entries else stream.dropped
        return Position(stream.epoch, last)

    def replay(self, channel: str, since: Position, history: History) -> Replay:
        """What came after ``since`` in ``channel``'s stream."""
        now = self._clock()
        stream = self._streams.get(channel)
        if stream is not None and now - stream.last > history.ttl:
            stream = None
        if virtual(since) is not None:
            if virtual_gap(since, self.life, int(now * 1000), history.ttl, self._evicted):
                return Replay(gap=True)
            if stream is None:
                return Replay()  # none made since: nothing missed
            since = Position(stream.epoch, (0, 0))  # made since: all of it
        if stream is None or stream.epoch != since.epoch:
            return Replay(gap=True)
        self._expire(stream, history, now)
        last = stream.entries[-1][0] if stream.entries else stream.dropped
        if since.sequence < stream.dropped or since.sequence > last:
            # Older than the history, or ahead of the stream (no server gave that position:
            # its next messages would be taken for ones the client has).
            return Replay(gap=True)
        return Replay([e for sequence, _at, e in stream.entries if sequence > since.sequence])

    def __contains__(self, channel: str) -> bool:
        return channel in self._streams

    def retire(self, channel: str, address: str) -> None:
        """``channel`` is the own stream of a connection that closed: kept for its client's
        return within the bounds of :class:`Retired`, the oldest past them given up."""
        if channel not in self._streams:
            return  # nothing was sent to it: nothing to keep
        for evicted in self.retired.add(channel, address):
            if self._streams.pop(evicted, None) is not None:
                self._evicted = int(self._clock() * 1000)

    def _sweep(self, now: float) -> None:
        """Every :data:`SWEEP_EVERY` seconds, forget the streams past their ttl (the own
        streams of connections that were sent something, say): forgotten or kept, such a
        stream is a gap, then a new epoch."""
        if now - self._swept < SWEEP_EVERY:
            return
        self._swept = now
        for channel in [c for c, s in self._streams.items() if now - s.last > s.ttl]:
            del self._streams[channel]
            self.retired.discard(channel)

    def _expire(self, stream: _Stream, history: History, now: float) -> None:
        while stream.entries and now - stream.entries[0][1] > history.ttl:
            stream.dropped = stream.entries.popleft()[0]
