"""History in Redis: each channel that keeps history has a stream (capped, with an expiry)
and an epoch key; a message is appended and published with its position in one script. A
replay reads what a stream kept after a position; the heads say where streams are now.

Across an outage (see ..marks): a subscriber subscribed again reads, from each stream its
connections receive, what came after the last message it delivered (:meth:`RedisHistory.
catch_up`), or says where it cannot (a ``gap``). A publish that fails is marked in its stream
once Redis answers (:meth:`RedisHistory.mark_lost`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ...episodes import Episode
from ..base import Envelope
from ..marks import Marks
from ..streams import (
    History,
    Position,
    Replay,
    Retired,
    format_sequence,
    new_epoch,
    virtual,
    virtual_gap,
)
from .routing import REDIS_ERRORS

if TYPE_CHECKING:
    from ..base import Member
    from .backend import RedisBackend

logger = logging.getLogger("clientsignal.backends.redis")

CATCH_UP_BATCH = 200
"""Streams a subscriber back from an outage reads in one round trip."""
MAX_LOST = 100_000
"""Streams whose failed publishes a process remembers, to mark them once Redis answers."""

# Keep a message in its channel's stream and publish it with its position, in one round trip:
# the stream gets a new epoch when its epoch key is gone (expired with it, or Redis lost its
# data); each entry records the id before it, so a replay can tell whether entries after a
# client's position were trimmed; entries older than the ttl are trimmed too.
# KEYS: stream, epoch. ARGV: size, ttl in ms, a new epoch, the channel it is published on, the
# envelope's bytes without a position (they start with a newline), the command that publishes
# (PUBLISH, or SPUBLISH on a cluster), what goes before the message there (on a cluster, the
# channel's name: see .cluster).
_APPEND = """
local epoch = redis.call('GET', KEYS[2])
if not epoch then
  redis.call('DEL', KEYS[1])
  epoch = ARGV[3]
  redis.call('SET', KEYS[2], epoch)
end
local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
local prev = '0-0'
if last[1] then prev = last[1][1] end
local id = redis.call('XADD', KEYS[1], 'MAXLEN', ARGV[1], '*', 'p', prev, 'm', ARGV[5])
local now = redis.call('TIME')
local cutoff = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000) - tonumber(ARGV[2])
if cutoff > 0 then redis.call('XTRIM', KEYS[1], 'MINID', cutoff) end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
redis.call(ARGV[6], ARGV[4], ARGV[7] .. epoch .. ':' .. id .. ARGV[5])
return id
"""

# The head of each of a connection's streams, for a client that has no position in them: the
# last entry's id, or 0-0 in a stream that has none yet. A stream without an epoch (none made
# yet, expired, lost) keeps nothing, and none is made for it: its head is virtual (see
# .streams), "v" .. the life of Redis's data (a key made once, lost with the data) .. the time.
# KEYS: the life key, then the stream and epoch of each stream in turn. ARGV: a new life.
# Returns the life, then each head.
_HEADS = """
local life = redis.call('GET', KEYS[1])
if not life then
  life = ARGV[1]
  redis.call('SET', KEYS[1], life)
end
local t = redis.call('TIME')
local now = string.format('%.0f', tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000))
local heads = {life}
for i = 1, (#KEYS - 1) / 2 do
  local stream, key = KEYS[2 * i], KEYS[2 * i + 1]
  local epoch = redis.call('GET', key)
  if epoch then
    local last = redis.call('XREVRANGE', stream, '+', '-', 'COUNT', 1)
    local id = '0-0'
    if last[1] then id = last[1][1] end
    heads[i + 1] = epoch .. ':' .. id
  else
    heads[i + 1] = 'v' .. life .. now .. ':0-0'
  end
end
return heads
"""

# Give up streams of closed connections (past the bounds of what is kept for their return):
# delete them and their epochs, and say when (a virtual head given before is then a gap).
# KEYS: the evicted key, then the stream and epoch keys.
_GIVE_UP = """
local deleted = 0
for i = 2, #KEYS do deleted = deleted + redis.call('DEL', KEYS[i]) end
if deleted > 0 then
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  redis.call('SET', KEYS[1], string.format('%.0f', now))
end
return deleted
"""


class RedisHistory:
    """The streams of one Redis backend: appending, replaying, heads, and what this process's
    connections stand at in them."""

    def __init__(self, backend: RedisBackend) -> None:
        self.backend = backend
        client = backend.client
        self._append = client.register_script(_APPEND)
        self._heads = client.register_script(_HEADS)
        self._give_up = client.register_script(_GIVE_UP)
        # The key that names the life of Redis's data (see ..streams), the time of the last
        # stream given up early (see ..streams.Retired); the life last seen. On a cluster,
        # each bucket of streams has these keys beside its streams (a shard may lose its data
        # alone), and the lives are by bucket ("" on one server).
        self.routing = backend.routing
        self._life_key = backend.channel("history") + "|life"
        self._evicted_key = backend.channel("history") + "|evicted"
        self.lives: dict[str, str] = {}
        # Where this process's connections stand in their streams; streams whose publish
        # failed (to mark); when the subscriber lost Redis (monotonic) and the life it knew.
        self.marks = Marks()
        self.lost: dict[str, History] = {}
        self._lost_episode = Episode()
        self.down_since: float | None = None
        self.down_lives: dict[str, str] = {}
        self.retired = Retired()

    def append(self, channel: str, history: History, envelope: Envelope) -> None:
        """Keep ``envelope`` in ``channel``'s stream and publish it with its position, in one
        round trip (raises when Redis fails)."""
        self._append(keys=stream_keys(channel), args=self._append_args(channel, history, envelope))

    def _append_args(self, channel: str, history: History, envelope: Envelope) -> list[Any]:
        """The arguments of the append script for ``envelope`` in ``channel``'s stream."""
        wired, header = self.routing.wire(channel)
        return [
            history.size,
            int(history.ttl * 1000),
            new_epoch(),
            wired,
            envelope.to_bytes(),
            self.routing.publish_command,
            header,
        ]

    def lost_since_down(self) -> None:
        """The subscriber lost Redis: remember when, and the lives of its data then."""
        if self.down_since is None:
            self.down_since = time.monotonic()
            self.down_lives = dict(self.lives)

    def retire(self, connection: Member) -> None:
        """The own stream of a closed connection that was sent something is kept for its
        client's return, within the bounds of :class:`~..streams.Retired`: past them, the
        oldest is given up (deleted)."""
        backend = self.backend
        own = backend.target_channel("connection", connection.id)
        mark = self.marks.get(own)
        self.marks.forget(backend.hub.remove(connection))
        if mark is None or not mark.kept:
            return
        evicted = self.retired.add(own, getattr(connection.session, "address", ""))
        if evicted and backend.available():
            try:
                for group in self.routing.groups(evicted).values():
                    self._give_up(
                        keys=[
                            self.routing.beside(group[0], self._evicted_key),
                            *(k for c in group for k in stream_keys(c)),
                        ]
                    )
            except REDIS_ERRORS as error:
                backend.command_failed(error)

    def lose(self, channel: str, history: History | None) -> None:
        """A publish to ``channel`` failed: with history, its stream gets a mark in its place
        once Redis answers (:meth:`mark_lost`)."""
        if history is None:
            return  # no history, no promise: lost, and counted
        if channel in self.lost or len(self.lost) < MAX_LOST:
            self.lost[channel] = history.wider(self.lost.get(channel))
        elif self._lost_episode.hit(time.monotonic()):
            logger.error(
                "publishes to more than %d streams failed while Redis was away: the clients of "
                "the others will not be told they missed something",
                MAX_LOST,
            )

    def mark_lost(self) -> bool:
        """Put a mark in each stream whose publish failed, where the lost message would have
        been (one round trip); the clients of the stream get a ``gap`` there. True once none
        is left to mark."""
        lost, self.lost = self.lost, {}
        marker = Envelope(lost=True)
        try:
            for group in self.routing.groups(lost).values():
                pipe = self.routing.client_for(self.backend.client, group[0]).pipeline(
                    transaction=False
                )
                for channel in group:
                    self._append(
                        keys=stream_keys(channel),
                        args=self._append_args(channel, lost[channel], marker),
                        client=pipe,
                    )
                pipe.execute()
        except REDIS_ERRORS as error:
            for channel, history in lost.items():
                self.lose(channel, history)
            self.backend.command_failed(error)
            return False
        logger.warning(
            "Redis answers again: %d stream(s) whose publishes failed are marked, their clients "
            "get a gap",
            len(lost),
        )
        return True

    def replay(self, channel: str, since: Position, history: History) -> Replay:
        self.track(channel, history)
        if not self.backend.available():  # a gap at once, as every other call skips Redis
            return Replay(gap=True)
        try:
            [replay] = self.replays([(channel, since, history)])
        except REDIS_ERRORS as error:
            self.backend.command_failed(error)
            return Replay(gap=True)
        if not replay.gap:
            last = replay.entries[-1].position if replay.entries else since.token
            self.track(channel, history, Position.parse(last or ""))
        return replay

    def track(self, channel: str, history: History, head: Position | None = None) -> None:
        if self.backend.hub.count(channel):  # only streams this process's connections receive
            self.marks.track(channel, history, head)

    def replays(
        self, wanted: Sequence[tuple[str, Position | None, History]], down: float | None = None
    ) -> list[Replay]:
        """What each stream kept after each position, in one round trip (on a cluster, one per
        bucket of streams). ``down``: for the subscriber's catch-up, the seconds since it lost
        Redis; a stream in which the process had no position (None, or a virtual head) is read
        whole if it was made since (it must still have its first message, and Redis must not
        have lost its data meanwhile)."""
        found: list[Replay | None] = [None] * len(wanted)
        indexes: dict[str, list[int]] = {}
        for n, (channel, _since, _history) in enumerate(wanted):
            indexes.setdefault(channel, []).append(n)
        for group, channels in self.routing.groups(indexes).items():
            at = [n for channel in channels for n in indexes[channel]]
            for n, replay in zip(
                at, self._replays(group, [wanted[n] for n in at], down), strict=True
            ):
                found[n] = replay
        return [replay for replay in found if replay is not None]

    def _replays(
        self,
        group: str,
        wanted: Sequence[tuple[str, Position | None, History]],
        down: float | None,
    ) -> list[Replay]:
        """:meth:`replays` of streams whose keys are in one place (one round trip)."""
        first = wanted[0][0]
        pipe = self.routing.client_for(self.backend.client, first).pipeline(transaction=False)
        pipe.get(self.routing.beside(first, self._life_key))
        pipe.time()
        pipe.get(self.routing.beside(first, self._evicted_key))
        for channel, since, history in wanted:
            stream, epoch_key = stream_keys(channel)
            fresh = since is None or virtual(since) is not None
            after = "0-0" if fresh else format_sequence(since.sequence)  # type: ignore[union-attr]
            pipe.get(epoch_key)
            pipe.xrange(stream, min="(" + after, max="+", count=history.size + 1)
            pipe.xinfo_stream(stream)
        results = pipe.execute(raise_on_error=False)
        found, clock, evicted = results[:3]
        life = found.decode() if isinstance(found, bytes) else None
        if life is not None:
            self.lives[group] = life
        now_ms = clock[0] * 1000 + clock[1] // 1000 if isinstance(clock, tuple) else 0
        evicted_ms = int(evicted) if isinstance(evicted, bytes) else -1
        replays = []
        for n, (_channel, since, history) in enumerate(wanted):
            epoch, entries, info = results[3 + 3 * n : 6 + 3 * n]
            if since is not None and virtual(since) is None:
                if not isinstance(epoch, bytes) or epoch.decode() != since.epoch:
                    replays.append(Replay(gap=True))
                else:
                    after = format_sequence(since.sequence)
                    replays.append(_replay(epoch, after, entries, info))
                continue
            if down is not None:
                known = self.down_lives.get(group) if since is None else virtual(since)[0]  # type: ignore[index]
                trusted = life is not None and known == life and down <= history.ttl
            else:
                assert since is not None
                trusted = (
                    life is not None
                    and now_ms > 0
                    and not virtual_gap(since, life, now_ms, history.ttl, evicted_ms)
                )
            if not trusted:
                replays.append(Replay(gap=True))
            elif not isinstance(epoch, bytes):
                replays.append(Replay())  # no stream made since: nothing missed
            else:  # made since: all of it
                replays.append(_replay(epoch, "0-0", entries, info))
        return replays

    def heads(self, streams: dict[str, History]) -> dict[str, Position]:
        for channel, history in streams.items():
            self.track(channel, history)
        if not streams or not self.backend.available():
            return {}
        try:
            found = self.read_heads(list(streams))
        except REDIS_ERRORS as error:
            self.backend.command_failed(error)
            return {}
        self.backend.command_ok()
        for channel, position in found.items():
            self.track(channel, streams[channel], position)
        return found

    def read_heads(self, channels: list[str]) -> dict[str, Position]:
        """The head of each stream, in one round trip (on a cluster, one per bucket of
        streams; raises when Redis fails)."""
        found = {}
        for group, grouped in self.routing.groups(channels).items():
            tokens = self._heads(
                keys=[
                    self.routing.beside(grouped[0], self._life_key),
                    *(k for channel in grouped for k in stream_keys(channel)),
                ],
                args=[new_epoch()],
            )
            self.lives[group] = tokens[0].decode()
            for channel, token in zip(grouped, tokens[1:], strict=False):
                position = Position.parse(token.decode()) if isinstance(token, bytes) else None
                if position is not None:
                    found[channel] = position
        return found

    def catch_up(self, channels: list[str]) -> None:
        """The subscriber is back after an outage: deliver, for each of ``channels``, what
        its stream kept after this process's mark, in order. Where some of that is no longer
        kept (trimmed, or Redis restarted from an older snapshot), a gap, then what is; where
        its history is gone (another epoch), a gap, then the new history if it kept all of
        it, else a gap at its head; where this process never knew a position (its connections
        came while Redis was away), a gap at its head. Each gap marks the stream anew. Raises
        when Redis fails
        (the subscriber then starts over, marks kept)."""
        assert self.down_since is not None
        down = time.monotonic() - self.down_since
        for start in range(0, len(channels), CATCH_UP_BATCH):
            batch: list[tuple[str, Position | None, History]] = []
            gaps: list[tuple[str, Position | None, History]] = []
            for channel in channels[start : start + CATCH_UP_BATCH]:
                mark = self.marks.get(channel)
                if mark is None:
                    continue
                if mark.position is None:
                    # Its connections came while no head could be read (Redis away): where
                    # they stand is unknown, so replaying the stream from its start would give
                    # them again what they had. A gap at its head.
                    gaps.append((channel, None, mark.history))
                else:
                    batch.append((channel, mark.position, mark.history))
            replays = self.replays(batch, down) if batch else []
            for (channel, since, history), replay in zip(batch, replays, strict=True):
                if not replay.gap:
                    self.deliver_all(channel, replay.entries)
                elif replay.resumes is not None:  # a hole in its history: said, then the rest
                    self.behind(channel, since, replay.resumes, history)
                    self.gap(channel, replay.resumes)
                    self.deliver_all(channel, replay.entries)
                else:
                    gaps.append((channel, since, history))
            if not gaps:
                continue
            heads = self.read_heads([channel for channel, _since, _history in gaps])
            # A new history (another epoch) is read from its start, if it still has it all.
            anew = [
                (channel, Position(heads[channel].epoch, (0, 0)), history)
                for channel, since, history in gaps
                if channel in heads
                and virtual(heads[channel]) is None
                and since is not None
                and since.epoch != heads[channel].epoch
            ]
            whole = {
                channel: replay
                for (channel, _start, _history), replay in zip(
                    anew, self.replays(anew) if anew else [], strict=True
                )
                if not replay.gap
            }
            for channel, since, history in gaps:
                head = heads.get(channel)
                self.behind(channel, since, head, history)
                if channel in whole and head is not None:
                    self.gap(channel, Position(head.epoch, (0, 0)))
                    self.deliver_all(channel, whole[channel].entries)
                else:
                    self.gap(channel, head)

    def behind(
        self, channel: str, mark: Position | None, found: Position | None, history: History
    ) -> None:
        """Redis lost writes of ``channel`` that this process delivered when its stream, in
        the same epoch, stops before this process's ``mark`` (a failover to a replica they
        had not reached, a restart from an older snapshot): the stream gets a mark of its own
        (:meth:`lose`), so that a client whose position is before them, replaying across it,
        is told of a gap too, not given the rest as if nothing had been missed."""
        if (
            mark is not None
            and found is not None
            and virtual(mark) is None
            and virtual(found) is None
            and found.epoch == mark.epoch
            and found.sequence < mark.sequence
        ):
            self.lose(channel, history)

    def gap(self, channel: str, at: Position | None) -> None:
        """Tell the connections of ``channel`` that they missed some of its stream, at
        ``at`` (their position from then on), which marks the stream anew."""
        self.backend.stats["gaps"] += 1
        if at is not None:
            self.marks.place(channel, at)
        self.backend.hub.deliver(channel, Envelope(lost=True, position=at.token if at else None))

    def deliver_all(self, channel: str, entries: list[Envelope]) -> None:
        """Deliver what a catch-up read, in order, but what was delivered already."""
        for envelope in entries:
            if self.marks.advance(channel, envelope.position or ""):
                self.backend.stats["caught_up"] += 1
                self.backend.hub.deliver(channel, envelope)


def _replay(epoch: bytes, after: str, entries: Any, info: Any) -> Replay:
    """What a stream of ``epoch`` kept after the id ``after``, from its entries after it (at
    most one more than its history's size) and its XINFO, either of them maybe an error (no
    such stream)."""
    if isinstance(entries, Exception):
        return Replay(gap=True)
    if not entries and isinstance(info, Exception):
        # No stream, but its epoch: nothing was kept since the epoch was made.
        return Replay(gap=after != "0-0")
    if isinstance(info, Exception):
        return Replay(gap=True)
    if not entries:
        # Nothing kept after the client's position: it missed something only if a later
        # message was added since, and trimmed.
        last = info.get("last-generated-id", b"0-0")
        return Replay(gap=last.decode() != after)
    prefix = epoch + b":"
    kept = [Envelope.from_bytes(prefix + id_ + fields[b"m"]) for id_, fields in entries]
    before = entries[0][1].get(b"p", b"").decode()
    if before != after:  # the entry right after the client's is no longer kept
        return Replay(kept, gap=True, resumes=Position.parse("%s:%s" % (epoch.decode(), before)))
    return Replay(kept)


def stream_keys(channel: str) -> list[str]:
    """The keys of a channel's stream and of its epoch."""
    return [channel + "|stream", channel + "|epoch"]
