"""The Redis backend: messages across processes and machines.

Publishing is a plain synchronous ``PUBLISH`` (no gevent needed: a management command or a
task worker publishes too). Receiving is one subscriber greenlet per socket-server process,
started by the first connection that opens there; it fans each message out to the local
sessions without decoding or re-encoding it, and reconnects with backoff when Redis goes away.

While Redis is away, nothing waits for it: after a failed command, requests skip it for a
second, then try again; while the subscriber has lost it, they skip it until the subscriber is
subscribed again. Each change of state is logged once.

History's promise holds across an outage (see .marks): a subscriber that is subscribed again
reads, from each stream its connections receive, what came after the last message it
delivered (published while it was away, or after Redis answered again but before it was
subscribed), and delivers it in order before anything newer; where that cannot be read (Redis
lost its data, the stream was trimmed past it), the connections get a ``gap``. A publish that
fails is lost for everyone: once Redis answers, the process that failed puts a mark in the
stream in its place, which reaches every connection of it as a ``gap`` (and a reconnecting
client's replay as one).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import redis
from redis.connection import parse_url as _redis_parse_url

from ..sockjs_protocol.limits import Episode
from .base import BaseBackend, Envelope, Member
from .marks import Marks
from .presence import TTL, Entry
from .streams import (
    History,
    Position,
    Replay,
    Retired,
    format_sequence,
    new_epoch,
    virtual,
    virtual_gap,
)

if TYPE_CHECKING:
    import gevent

logger = logging.getLogger("clientsignal.backends.redis")

DEFAULT_URL = "redis://localhost:6379/0"
# Between reads the subscriber looks for channels to add; this bounds how long a new
# connection class waits for its subscription.
POLL_INTERVAL = 0.25
MIN_BACKOFF = 0.1
MAX_BACKOFF = 2.0
"""Seconds between the subscriber's attempts to reconnect, at most: how late a worker may see
Redis back after it answers again (the session cluster waits that long for owners to claim
their sessions again: gevent_io/forwarding.REGISTER_WINDOW)."""
# Connections a process may open to publish; more concurrent publishers queue for one.
PUBLISH_CONNECTIONS = 50
COMMAND_TIMEOUT = 1.0
"""Seconds any Redis command (or connect) may take before it counts as failed."""
POOL_WAIT = 5.0
"""Seconds a command may wait for one of the process's connections while all are busy: a
burst of publishers on a busy CPU, not Redis away (its commands still time out after
COMMAND_TIMEOUT)."""
# What redis-py's BlockingConnectionPool raises when that wait runs out.
POOL_BUSY = "No connection available."
RETRY_AFTER = 1.0
"""Seconds requests skip Redis after a failed command (a stall, a timeout, a refusal)."""
CATCH_UP_BATCH = 200
"""Streams a subscriber back from an outage reads in one round trip."""
MAX_LOST = 100_000
"""Streams whose failed publishes a process remembers, to mark them once Redis answers."""
SCHEMES = ("redis", "rediss", "unix")

# Keep a message in its channel's stream and publish it with its position, in one round trip:
# the stream gets a new epoch when its epoch key is gone (expired with it, or Redis lost its
# data); each entry records the id before it, so a replay can tell whether entries after a
# client's position were trimmed; entries older than the ttl are trimmed too.
# KEYS: stream, epoch. ARGV: size, ttl in ms, a new epoch, the channel, the envelope's bytes
# without a position (they start with a newline).
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
redis.call('PUBLISH', ARGV[4], epoch .. ':' .. id .. ARGV[5])
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

# Presence: a sorted set per place, each entry's score the (server) time it expires at.
# KEYS: the place's set. ARGV: ttl in ms, the entry, the prefix its user's entries share.
# Returns how many live entries that user has there after the change.
_PRESENCE_COUNT = """
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local now = now_ms()
if ARGV[4] == 'add' then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[1]), ARGV[2])
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
else
  redis.call('ZREM', KEYS[1], ARGV[2])
end
local n = 0
for _, m in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], now, '+inf')) do
  if string.sub(m, 1, #ARGV[3]) == ARGV[3] then n = n + 1 end
end
return n
"""
# KEYS: the place's set. ARGV: ttl in ms, then this worker's entries there: refreshed, and
# the expired entries of any worker (one that died without removing its own) removed.
# Returns one removed entry per user who has no live entry left there: whoever removes it
# (once, atomically) says that user left.
_PRESENCE_REFRESH = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)
if #expired > 0 then redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now) end
for i = 2, #ARGV do redis.call('ZADD', KEYS[1], now + tonumber(ARGV[1]), ARGV[i]) end
if #ARGV > 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local left = {}
if #expired > 0 then
  local here = {}
  for _, m in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now, '+inf')) do
    here[string.match(m, '^[^|]*')] = true
  end
  for _, m in ipairs(expired) do
    local user = string.match(m, '^[^|]*')
    if user ~= '' and not here[user] then
      here[user] = true
      left[#left + 1] = m
    end
  end
end
return left
"""
# KEYS: the place's set. The live entries.
_PRESENCE_LIVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return redis.call('ZRANGEBYSCORE', KEYS[1], now, '+inf')
"""


def parse_url(url: str) -> dict[str, Any]:
    """What a backend URL means: scheme, username, password, host, port, db, path, ssl.

    ``redis://[user]:[password]@[host]:[port]/[db]``, ``rediss://`` (TLS) and
    ``unix://[:password@]/path/to/socket?db=N``; host defaults to localhost, port to 6379,
    db to 0. Raises ``ValueError`` with what is wrong.
    """
    scheme, sep, _rest = url.partition("://")
    scheme = scheme.lower()
    if not sep or scheme not in SCHEMES:
        raise ValueError(
            "not a Redis URL: %r (expected redis://host:port/db, rediss://... or "
            "unix:///path/to/socket)" % url
        )
    try:
        parsed = _redis_parse_url(url)
    except ValueError as error:
        raise ValueError("invalid Redis URL %r: %s" % (url, error)) from None
    unix = scheme == "unix"
    if unix and not parsed.get("path"):
        raise ValueError("invalid Redis URL %r: a unix:// URL needs a socket path" % url)
    path = urlsplit(url).path
    if not unix and path not in ("", "/") and not path[1:].isdigit():
        raise ValueError("invalid Redis URL %r: the path is the db number (/0)" % url)
    db = parsed.get("db") or 0
    try:
        db = int(db)
    except ValueError:
        raise ValueError("invalid Redis URL %r: db %r is not a number" % (url, db)) from None
    return {
        "scheme": scheme,
        "username": parsed.get("username"),
        "password": parsed.get("password"),
        "host": None if unix else parsed.get("host") or "localhost",
        "port": None if unix else parsed.get("port") or 6379,
        "db": db,
        "path": parsed.get("path") if unix else None,
        "ssl": scheme == "rediss",
    }


class RedisBackend(BaseBackend):
    """Publishes to Redis channels; one subscriber greenlet per process delivers locally."""

    def __init__(self, url: str | None = None, options: dict[str, Any] | None = None) -> None:
        super().__init__(url or DEFAULT_URL, options)
        self.url: str = url or DEFAULT_URL
        parse_url(self.url)  # a bad URL fails here, at start-up
        # Greenlets wait for a free connection instead of failing when many publish at once.
        pool = redis.BlockingConnectionPool.from_url(
            self.url,
            max_connections=PUBLISH_CONNECTIONS,
            timeout=POOL_WAIT,
            socket_connect_timeout=COMMAND_TIMEOUT,
            socket_timeout=COMMAND_TIMEOUT,
            health_check_interval=10,
        )
        self._publisher = redis.Redis(connection_pool=pool)
        self._append = self._publisher.register_script(_APPEND)
        self._heads = self._publisher.register_script(_HEADS)
        self._give_up = self._publisher.register_script(_GIVE_UP)
        self._presence_count = self._publisher.register_script(_PRESENCE_COUNT)
        self._presence_refresh = self._publisher.register_script(_PRESENCE_REFRESH)
        self._presence_live = self._publisher.register_script(_PRESENCE_LIVE)
        # History: the key that names the life of Redis's data (see .streams), the time of
        # the last stream given up early (see .streams.Retired); the life last seen.
        self._life_key = self.channel("history") + "|life"
        self._evicted_key = self.channel("history") + "|evicted"
        self.life: str | None = None
        # Where this process's connections stand in their streams; streams whose publish
        # failed (to mark); when the subscriber lost Redis (monotonic) and the life it knew.
        self.marks = Marks()
        self._lost: dict[str, History] = {}
        self._lost_episode = Episode()
        self._down_since: float | None = None
        self._down_life: str | None = None
        self.retired = Retired()
        # This process's presence entries, by place, to refresh.
        self._present: dict[str, dict[str, Entry]] = {}
        self.worker = uuid.uuid4().hex[:8]
        self._wanted: set[str] = set()
        self._handlers: dict[str, Callable[[bytes], None]] = {}
        self._confirmed: set[str] = set()
        # Targeted messages (groups, users, single connections) reach every process by
        # pattern; each delivers to its own members.
        self._patterns = tuple(self.channel("%s:*" % kind) for kind in self.TARGETS)
        self._target_prefixes = tuple(pattern[:-1] for pattern in self._patterns)
        self._subscriber: gevent.Greenlet | None = None
        self._stopped = False
        self._retry_at = 0.0
        self._subscriber_down = False  # the subscriber lost Redis and is not subscribed again
        self.state = "idle"
        self.stats = {
            "published": 0,
            "publish_errors": 0,
            "received": 0,
            "delivered": 0,
            "reconnects": 0,
            "pool_busy": 0,
            "caught_up": 0,
            "gaps": 0,
        }
        self._pool_busy = Episode()
        self._back_callbacks: list[Callable[[], object]] = []

    # -- publishing (any process) ------------------------------------------------------------

    def publish(self, channel: str, envelope: Envelope, history: History | None = None) -> None:
        if not self.available() or (self._lost and not self.mark_lost()):
            self.stats["publish_errors"] += 1
            self._lose(channel, history)
            return
        try:
            if history is None:
                self._publisher.publish(channel, envelope.to_bytes())
            else:
                args = _append_args(channel, history, envelope)
                self._append(keys=_stream_keys(channel), args=args)
        except (redis.RedisError, OSError) as error:
            self.stats["publish_errors"] += 1
            self._lose(channel, history)
            self.command_failed(error)
            return
        self.stats["published"] += 1
        self.command_ok()

    def _lose(self, channel: str, history: History | None) -> None:
        """A publish to ``channel`` failed: with history, its stream gets a mark in its place
        once Redis answers (:meth:`mark_lost`)."""
        if history is None:
            return  # no history, no promise: lost, and counted
        if channel in self._lost or len(self._lost) < MAX_LOST:
            self._lost[channel] = history.wider(self._lost.get(channel))
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
        lost, self._lost = self._lost, {}
        marker = Envelope(lost=True)
        try:
            pipe = self._publisher.pipeline(transaction=False)
            for channel, history in lost.items():
                self._append(
                    keys=_stream_keys(channel),
                    args=_append_args(channel, history, marker),
                    client=pipe,
                )
            pipe.execute()
        except (redis.RedisError, OSError) as error:
            for channel, history in lost.items():
                self._lose(channel, history)
            self.command_failed(error)
            return False
        logger.warning(
            "Redis answers again: %d stream(s) whose publishes failed are marked, their clients "
            "get a gap",
            len(lost),
        )
        return True

    def replay(self, channel: str, since: Position, history: History) -> Replay:
        self._track(channel, history)
        if not self.available():  # said to be a gap at once, as every other call skips Redis
            return Replay(gap=True)
        try:
            [replay] = self._replays([(channel, since, history)])
        except (redis.RedisError, OSError) as error:
            self.command_failed(error)
            return Replay(gap=True)
        if not replay.gap:
            last = replay.entries[-1].position if replay.entries else since.token
            self._track(channel, history, Position.parse(last or ""))
        return replay

    def _track(self, channel: str, history: History, head: Position | None = None) -> None:
        if self.hub.count(channel):  # only streams this process's connections receive
            self.marks.track(channel, history, head)

    def _replays(
        self, wanted: Sequence[tuple[str, Position | None, History]], down: float | None = None
    ) -> list[Replay]:
        """What each stream kept after each position, in one round trip. ``down``: for the
        subscriber's catch-up, the seconds since it lost Redis; a stream in which the process
        had no position (None, or a virtual head) is read whole if it was made since (it must
        still have its first message, and Redis must not have lost its data meanwhile)."""
        pipe = self._publisher.pipeline(transaction=False)
        pipe.get(self._life_key)
        pipe.time()
        pipe.get(self._evicted_key)
        for channel, since, history in wanted:
            stream, epoch_key = _stream_keys(channel)
            fresh = since is None or virtual(since) is not None
            after = "0-0" if fresh else format_sequence(since.sequence)  # type: ignore[union-attr]
            pipe.get(epoch_key)
            pipe.xrange(stream, min="(" + after, max="+", count=history.size + 1)
            pipe.xinfo_stream(stream)
        results = pipe.execute(raise_on_error=False)
        found, clock, evicted = results[:3]
        life = found.decode() if isinstance(found, bytes) else None
        if life is not None:
            self.life = life
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
                known = self._down_life if since is None else virtual(since)[0]  # type: ignore[index]
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
            self._track(channel, history)
        if not streams or not self.available():
            return {}
        try:
            found = self._read_heads(list(streams))
        except (redis.RedisError, OSError) as error:
            self.command_failed(error)
            return {}
        self.command_ok()
        for channel, position in found.items():
            self._track(channel, streams[channel], position)
        return found

    def _read_heads(self, channels: list[str]) -> dict[str, Position]:
        """The head of each stream, in one round trip (raises when Redis fails)."""
        tokens = self._heads(
            keys=[self._life_key, *(k for channel in channels for k in _stream_keys(channel))],
            args=[new_epoch()],
        )
        self.life = tokens[0].decode()
        found = {}
        for channel, token in zip(channels, tokens[1:], strict=False):
            position = Position.parse(token.decode()) if isinstance(token, bytes) else None
            if position is not None:
                found[channel] = position
        return found

    def presence_add(self, place: str, entry: Entry) -> int:
        entry = Entry(entry.user_id, entry.username, entry.connection, self.worker)
        self._present.setdefault(place, {})[entry.connection] = entry
        return self._presence_change(place, entry, "add")

    def presence_remove(self, place: str, entry: Entry) -> int:
        entries = self._present.get(place, {})
        entry = entries.pop(entry.connection, entry)
        if not entries:
            self._present.pop(place, None)
        return self._presence_change(place, entry, "remove")

    def presence(self, place: str) -> list[Entry]:
        if not self.available():
            return list(self._present.get(place, {}).values())  # this process's, at least
        try:
            keys = self._presence_live(keys=[_presence_key(place)])
        except (redis.RedisError, OSError) as error:
            self.command_failed(error)
            return list(self._present.get(place, {}).values())
        return [Entry.parse(key.decode("utf-8")) for key in keys]

    def refresh_presence(self) -> list[tuple[str, Entry]]:
        if not self._present or not self.available():
            return []
        places = list(self._present)
        try:
            pipe = self._publisher.pipeline(transaction=False)
            for place in places:
                self._presence_refresh(
                    keys=[_presence_key(place)],
                    args=[int(TTL * 1000), *(e.key() for e in self._present[place].values())],
                    client=pipe,
                )
            results = pipe.execute()
        except (redis.RedisError, OSError) as error:
            self.command_failed(error)
            return []
        return [
            (place, Entry.parse(key.decode("utf-8")))
            for place, left in zip(places, results, strict=True)
            for key in left
        ]

    def _presence_change(self, place: str, entry: Entry, change: str) -> int:
        if not self.available():
            return -1
        try:
            count = self._presence_count(
                keys=[_presence_key(place)],
                args=[int(TTL * 1000), entry.key(), entry.user_id + "|", change],
            )
        except (redis.RedisError, OSError) as error:
            self.command_failed(error)
            return -1
        return int(count)

    @property
    def client(self) -> redis.Redis:
        """The synchronous client this backend publishes with."""
        return self._publisher

    def available(self) -> bool:
        if self._subscriber is not None and self._subscriber_down:
            return False
        return time.monotonic() >= self._retry_at

    def command_failed(self, error: Exception) -> None:
        """A command failed: requests skip Redis for :data:`RETRY_AFTER` seconds. Not when
        it found every connection of this process busy: Redis is not away, and marking it so
        would drop every other worker's forwarded answers for a second."""
        if isinstance(error, redis.ConnectionError) and str(error) == POOL_BUSY:
            self.stats["pool_busy"] += 1
            if self._pool_busy.hit(time.monotonic()):
                logger.warning(
                    "all %d Redis connections of this process stayed busy for %.0f s: a command "
                    "failed (counted: pool_busy; logged once until a minute passes without one)",
                    PUBLISH_CONNECTIONS,
                    POOL_WAIT,
                )
            return
        self._retry_at = time.monotonic() + RETRY_AFTER
        self._set_state("disconnected", error)

    def command_ok(self) -> None:
        """A command worked: Redis answers (unless the subscriber is still away from it)."""
        if self.state == "disconnected" and not (
            self._subscriber is not None and self._subscriber_down
        ):
            self._set_state("connected")

    # -- receiving (socket-server processes) ---------------------------------------------------

    def join(self, connection: Member, channels: tuple[str, ...]) -> None:
        super().join(connection, channels)
        for channel in channels:  # a connection that came back: its stream is in use again
            self.retired.discard(channel)
        # Targeted channels arrive through the patterns: subscribing them too would deliver
        # their messages twice.
        self._subscribe(tuple(c for c in channels if not c.startswith(self._target_prefixes)))

    def leave_channels(self, connection: Member, channels: tuple[str, ...]) -> None:
        self.marks.forget(self.hub.discard(connection, channels))

    def leave(self, connection: Member) -> None:
        """The own stream of a connection that was sent something is kept for its client's
        return, within the bounds of :class:`~.streams.Retired`: past them, the oldest is
        given up (deleted)."""
        own = self.target_channel("connection", connection.id)
        mark = self.marks.get(own)
        self.marks.forget(self.hub.remove(connection))
        if mark is None or not mark.kept:
            return
        evicted = self.retired.add(own, getattr(connection.session, "address", ""))
        if evicted and self.available():
            try:
                self._give_up(
                    keys=[self._evicted_key, *(k for c in evicted for k in _stream_keys(c))]
                )
            except (redis.RedisError, OSError) as error:
                self.command_failed(error)

    def serve(self, channels: tuple[str, ...], deadline: float) -> bool:
        self._subscribe(channels)
        return all(
            self.wait_subscribed(channel, deadline - time.monotonic())
            for channel in (*channels, *self._patterns)
        )

    def listen(self, channel: str, callback: Callable[[bytes], None]) -> None:
        """Call ``callback(data)`` in the subscriber greenlet for every message on
        ``channel`` (a worker's inbox, for session forwarding)."""
        self._handlers[channel] = callback
        self._subscribe((channel,))

    def when_back(self, callback: Callable[[], object]) -> None:
        """Call ``callback()`` (in the subscriber greenlet: it must not block) whenever Redis
        answers again after it was away."""
        self._back_callbacks.append(callback)

    def wait_subscribed(self, channel: str, timeout: float) -> bool:
        """Wait until Redis has confirmed the subscription to ``channel`` (from then on,
        whatever is published to it reaches this process), at most ``timeout`` seconds, and
        not at all while Redis is known to be away."""
        import gevent

        deadline = time.monotonic() + timeout
        while channel not in self._confirmed:
            if self.state == "disconnected" or time.monotonic() >= deadline:
                return False
            gevent.sleep(0.01)
        return True

    def _subscribe(self, channels: tuple[str, ...]) -> None:
        self._wanted.update(channels)
        if self._subscriber is None and not self._stopped:
            import gevent

            self._subscriber = gevent.spawn(self._subscribe_forever)

    def close(self) -> None:
        self._stopped = True
        if self._subscriber is not None:
            self._subscriber.kill(block=False)
            self._subscriber = None
        self._publisher.close()

    def _subscribe_forever(self) -> None:
        import gevent

        backoff = MIN_BACKOFF
        while not self._stopped:
            client = redis.Redis.from_url(
                self.url,
                socket_connect_timeout=COMMAND_TIMEOUT,
                socket_timeout=COMMAND_TIMEOUT,
                socket_keepalive=True,
                health_check_interval=10,
            )
            pubsub = client.pubsub()
            try:
                subscribed = set(self._wanted)
                pubsub.subscribe(*subscribed)
                pubsub.psubscribe(*self._patterns)
                # Back from an outage: each channel (pattern) is caught up once subscribed.
                behind = {*subscribed, *self._patterns} if self._down_since is not None else set()
                backoff = MIN_BACKOFF
                while not self._stopped:
                    missing = self._wanted - subscribed
                    if missing:
                        pubsub.subscribe(*missing)
                        subscribed |= missing
                    message = pubsub.get_message(timeout=POLL_INTERVAL)
                    kind = message["type"] if message is not None else None
                    if kind in ("subscribe", "psubscribe"):
                        name = message["channel"].decode("utf-8")
                        self._confirmed.add(name)
                        if self._subscriber_down or self.state != "connected":
                            # Redis answered: subscribed, not merely asked to be.
                            self._subscriber_down = False
                            self._retry_at = 0.0
                            self._set_state("connected")
                        if name in behind:
                            try:
                                self._catch_up(self.marks.matching(name, kind == "psubscribe"))
                            except (redis.RedisError, OSError):
                                raise  # start over, marks kept
                            except Exception:
                                logger.exception("catching up %r failed", name)
                            behind.discard(name)
                            if not behind:
                                self._down_since = None
                    elif kind in ("message", "pmessage"):
                        try:
                            self._deliver(message["channel"], message["data"])
                        except Exception:
                            logger.exception(
                                "delivering a message from %r failed", message["channel"]
                            )
                    if self._lost and self.available() and not behind:
                        self.mark_lost()
            except (redis.RedisError, OSError) as error:
                self._confirmed.clear()
                self._subscriber_down = True
                if self._down_since is None:
                    self._down_since = time.monotonic()
                    self._down_life = self.life
                self._set_state("disconnected", error)
            finally:
                try:
                    pubsub.close()
                    client.close()
                except (redis.RedisError, OSError):
                    pass
            if not self._stopped:
                gevent.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)
                self.stats["reconnects"] += 1

    def _deliver(self, channel: bytes, data: bytes) -> None:
        name = channel.decode("utf-8")
        handler = self._handlers.get(name)
        if handler is not None:
            handler(data)
            return
        self.stats["received"] += 1
        envelope = Envelope.from_bytes(data)
        if envelope.position is not None and not self.marks.advance(name, envelope.position):
            return  # a catch-up delivered it already
        self.stats["delivered"] += self.hub.deliver(name, envelope)

    def _catch_up(self, channels: list[str]) -> None:
        """The subscriber is back after an outage: deliver, for each of ``channels``, what
        its stream kept after this process's mark, in order. Where some of that is no longer
        kept (trimmed, or Redis restarted from an older snapshot), a gap, then what is; where
        its history is gone (another epoch), a gap, then the new history if it kept all of
        it, else a gap at its head. Each gap marks the stream anew. Raises when Redis fails
        (the subscriber then starts over, marks kept)."""
        assert self._down_since is not None
        down = time.monotonic() - self._down_since
        for start in range(0, len(channels), CATCH_UP_BATCH):
            batch = []
            for channel in channels[start : start + CATCH_UP_BATCH]:
                mark = self.marks.get(channel)
                if mark is not None:
                    batch.append((channel, mark.position, mark.history))
            replays = self._replays(batch, down)
            gaps = []
            for (channel, since, history), replay in zip(batch, replays, strict=True):
                if not replay.gap:
                    self._deliver_all(channel, replay.entries)
                elif replay.resumes is not None:  # a hole in its history: said, then the rest
                    self._gap(channel, replay.resumes)
                    self._deliver_all(channel, replay.entries)
                else:
                    gaps.append((channel, since, history))
            if not gaps:
                continue
            heads = self._read_heads([channel for channel, _since, _history in gaps])
            # A new history (another epoch) is read from its start, if it still has it all.
            anew = [
                (channel, Position(heads[channel].epoch, (0, 0)), history)
                for channel, since, history in gaps
                if channel in heads
                and virtual(heads[channel]) is None
                and (since is None or since.epoch != heads[channel].epoch)
            ]
            whole = {
                channel: replay
                for (channel, _start, _history), replay in zip(
                    anew, self._replays(anew) if anew else [], strict=True
                )
                if not replay.gap
            }
            for channel, _since, _history in gaps:
                head = heads.get(channel)
                if channel in whole and head is not None:
                    self._gap(channel, Position(head.epoch, (0, 0)))
                    self._deliver_all(channel, whole[channel].entries)
                else:
                    self._gap(channel, head)

    def _gap(self, channel: str, at: Position | None) -> None:
        """Tell the connections of ``channel`` that they missed some of its stream, at
        ``at`` (their position from then on), which marks the stream anew."""
        self.stats["gaps"] += 1
        if at is not None:
            self.marks.place(channel, at)
        self.hub.deliver(channel, Envelope(lost=True, position=at.token if at else None))

    def _deliver_all(self, channel: str, entries: list[Envelope]) -> None:
        """Deliver what a catch-up read, in order, but what was delivered already."""
        for envelope in entries:
            if self.marks.advance(channel, envelope.position or ""):
                self.stats["caught_up"] += 1
                self.hub.deliver(channel, envelope)

    def _set_state(self, state: str, error: Exception | None = None) -> None:
        """Log each change of state once, not once per retry or per failed command."""
        if state == self.state:
            return
        previous, self.state = self.state, state
        if state == "connected":
            if previous == "disconnected":
                logger.warning("Redis at %s answers again", _safe(self.url))
                for callback in self._back_callbacks:
                    try:
                        callback()
                    except Exception:
                        logger.exception("a callback for Redis answering again failed")
            else:
                logger.info("Redis subscriber connected to %s", _safe(self.url))
        else:
            logger.error(
                "Redis at %s is unreachable (%s): requests skip it and events published "
                "meanwhile are lost (counted: publish_errors); retrying with backoff up to "
                "%.0f s",
                _safe(self.url),
                error,
                MAX_BACKOFF,
            )


def _append_args(channel: str, history: History, envelope: Envelope) -> list[Any]:
    """The arguments of the append script for ``envelope`` in ``channel``'s stream."""
    return [history.size, int(history.ttl * 1000), new_epoch(), channel, envelope.to_bytes()]


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


def _presence_key(place: str) -> str:
    return place + "|presence"


def _stream_keys(channel: str) -> list[str]:
    """The keys of a channel's stream and of its epoch."""
    return [channel + "|stream", channel + "|epoch"]


def _safe(url: str) -> str:
    """The URL without its password, for logs."""
    parsed = parse_url(url)
    if parsed["path"]:
        return "unix://%s?db=%d" % (parsed["path"], parsed["db"])
    return "%s://%s:%s/%d" % (parsed["scheme"], parsed["host"], parsed["port"], parsed["db"])
