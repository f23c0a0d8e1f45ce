"""Per-address and per-user session limits across every worker and machine, through Redis
(``CLIENTSIGNAL_BACKEND_OPTIONS = {"GLOBAL_LIMITS": True}``).

Each place (a service's prefix, ``address`` or ``user``, its key) is a sorted set in Redis,
one member per open session (``<worker>|<session number>``) scored with the (server) time it
expires at. Taking a place is one script: drop the expired members, refuse if ``limit`` are
left, else add this one. Each worker refreshes its members every :data:`REFRESH` seconds and a
member counts for :data:`TTL` seconds after: the places of a worker that died without closing
anything (SIGKILL) are free again within :data:`TTL` seconds. A closed session's member is
removed by a greenlet of its own, in batches, never in the greenlet that closed it.

While Redis is away, a place is taken without asking it (fail open: the worker's own limits
still apply), logged once per episode and counted (``limits_unenforced``); the worker's next
refresh once Redis answers counts those sessions in Redis too.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from ...episodes import Episode
from ..presence import REFRESH, TTL
from .routing import REDIS_ERRORS

if TYPE_CHECKING:
    import gevent

    from .backend import RedisBackend

logger = logging.getLogger("clientsignal.backends.redis")

__all__ = ["REFRESH", "TTL", "GlobalLimits"]

# KEYS: the place's set. ARGV: ttl in ms, limit, the member. 1: taken, 0: refused.
_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[1]), ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
"""
# KEYS: places' sets. ARGV: ttl in ms, then for each place in turn how many of this worker's
# members it has, and those members.
_REFRESH = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[1])
local a = 2
for i = 1, #KEYS do
  local n = tonumber(ARGV[a])
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now)
  for j = a + 1, a + n do redis.call('ZADD', KEYS[i], now + ttl, ARGV[j]) end
  redis.call('PEXPIRE', KEYS[i], ttl)
  a = a + n + 1
end
return 0
"""
REFRESH_BATCH = 1000
"""Places refreshed per script call (Redis runs nothing else while a script runs)."""


class GlobalLimits:
    """The :class:`~clientsignal.sockjs_protocol.limits.SharedCounts` of one worker."""

    def __init__(self, backend: RedisBackend) -> None:
        self.backend = backend
        self._take = backend.client.register_script(_TAKE)
        self._refresh = backend.client.register_script(_REFRESH)
        self._held: dict[str, list[int]] = {}  # this worker's members, by place key
        self._released: list[tuple[str, int]] = []
        self._releaser: gevent.Greenlet | None = None
        self._unenforced = Episode()
        backend.stats.setdefault("limits_unenforced", 0)

    def key(self, scope: str, kind: str, key: str) -> str:
        return self.backend.channel("limits:%s:%s:%s" % (scope, kind, key))

    def member(self, holder: int) -> str:
        return "%s|%d" % (self.backend.worker, holder)

    def take(self, scope: str, kind: str, key: str, limit: int, holder: int) -> bool:
        place = self.key(scope, kind, key)
        if self.backend.available():
            try:
                taken = self._take(keys=[place], args=[int(TTL * 1000), limit, self.member(holder)])
            except REDIS_ERRORS as error:
                self.backend.command_failed(error)
            else:
                self.backend.command_ok()
                if not taken:
                    return False
                self._held.setdefault(place, []).append(holder)
                return True
        self._take_unasked(place, holder, limit, "%s %s" % (kind, key))
        return True

    def _take_unasked(self, place: str, holder: int, limit: int, what: str) -> None:
        """Redis is away: the place is taken (the worker's own limit still holds), and
        counted in Redis by the next refresh once it answers."""
        self._held.setdefault(place, []).append(holder)
        self.backend.stats["limits_unenforced"] += 1
        if self._unenforced.hit(time.monotonic()):
            logger.warning(
                "Redis is unreachable: a session of %s was let in without counting it in every "
                "worker (GLOBAL_LIMITS); until Redis answers, each worker enforces its own "
                "limits only (%d), and sessions let in meanwhile are counted once it does "
                "(counted: limits_unenforced; logged once until a minute passes without one)",
                what,
                limit,
            )

    def release(self, scope: str, kind: str, key: str, holder: int) -> None:
        place = self.key(scope, kind, key)
        holders = self._held.get(place)
        if holders is None or holder not in holders:
            return
        holders.remove(holder)
        if not holders:
            del self._held[place]
        self._released.append((place, holder))
        if self._releaser is None:
            import gevent

            self._releaser = gevent.spawn(self._release_soon)

    def _release_soon(self) -> None:
        """Remove the members of closed sessions, every one released meanwhile in one round
        trip (a SIGTERM or a logout closes many at once)."""
        try:
            while self._released:
                batch, self._released = self._released, []
                if not self.backend.available():
                    return  # they expire with the places this worker no longer refreshes
                try:
                    routing = self.backend.routing
                    holders: dict[str, list[int]] = {}
                    for place, holder in batch:
                        holders.setdefault(place, []).append(holder)
                    for group in routing.groups(holders).values():
                        client = routing.client_for(self.backend.client, group[0])
                        pipe = client.pipeline(transaction=False)
                        for place in group:
                            pipe.zrem(place, *(self.member(holder) for holder in holders[place]))
                        pipe.execute()
                except REDIS_ERRORS as error:
                    self.backend.command_failed(error)
                    return
        finally:
            self._releaser = None

    def refresh(self) -> None:
        """Keep this worker's members counted for another :data:`TTL` (the worker's reaper
        calls it every :data:`REFRESH` seconds); also counts those let in while Redis was
        away."""
        if not self._held or not self.backend.available():
            return
        prefix = self.backend.worker + "|"
        routing = self.backend.routing
        try:
            # One script touches one slot (on a cluster: the places of one bucket at a time).
            for group in routing.groups(self._held).values():
                places = [(place, self._held[place]) for place in group]
                pipe = routing.client_for(self.backend.client, group[0]).pipeline(transaction=False)
                for start in range(0, len(places), REFRESH_BATCH):
                    batch = places[start : start + REFRESH_BATCH]
                    args: list[int | str] = [int(TTL * 1000)]
                    for _place, holders in batch:
                        args.append(len(holders))
                        args.extend(prefix + str(holder) for holder in holders)
                    self._refresh(keys=[place for place, _ in batch], args=args, client=pipe)
                pipe.execute()
        except REDIS_ERRORS as error:
            self.backend.command_failed(error)

    def held(self) -> int:
        """Places this worker holds now (for tests and stats)."""
        return sum(len(holders) for holders in self._held.values())
