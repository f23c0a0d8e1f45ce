"""Presence in Redis: a sorted set per place, each entry scored with the (server) time it
expires at, refreshed by its worker; a worker that died has its entries expire, and one
surviving worker (the one whose refresh removes them, atomically) says its users left."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..presence import TTL, Entry
from .routing import REDIS_ERRORS

if TYPE_CHECKING:
    from .backend import RedisBackend

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


class RedisPresence:
    """This process's presence entries, kept in Redis."""

    def __init__(self, backend: RedisBackend) -> None:
        self.backend = backend
        client = backend.client
        self._count = client.register_script(_PRESENCE_COUNT)
        self._refresh = client.register_script(_PRESENCE_REFRESH)
        self._live = client.register_script(_PRESENCE_LIVE)
        # This process's entries, by place, to refresh.
        self.present: dict[str, dict[str, Entry]] = {}

    def add(self, place: str, entry: Entry) -> int:
        entry = Entry(entry.user_id, entry.username, entry.connection, self.backend.worker)
        self.present.setdefault(place, {})[entry.connection] = entry
        return self._change(place, entry, "add")

    def remove(self, place: str, entry: Entry) -> int:
        entries = self.present.get(place, {})
        entry = entries.pop(entry.connection, entry)
        if not entries:
            self.present.pop(place, None)
        return self._change(place, entry, "remove")

    def entries(self, place: str) -> list[Entry]:
        backend = self.backend
        if not backend.available():
            return list(self.present.get(place, {}).values())  # this process's, at least
        try:
            keys = self._live(keys=[_presence_key(place)])
        except REDIS_ERRORS as error:
            backend.command_failed(error)
            return list(self.present.get(place, {}).values())
        return [Entry.parse(key.decode("utf-8")) for key in keys]

    def refresh(self) -> list[tuple[str, Entry]]:
        backend = self.backend
        if not self.present or not backend.available():
            return []
        routing = backend.routing
        places = []
        results = []
        try:
            # One round trip (on a cluster, one per bucket of places).
            for group in routing.groups(self.present).values():
                pipe = routing.client_for(backend.client, group[0]).pipeline(transaction=False)
                for place in group:
                    self._refresh(
                        keys=[_presence_key(place)],
                        args=[int(TTL * 1000), *(e.key() for e in self.present[place].values())],
                        client=pipe,
                    )
                results += pipe.execute()
                places += group
        except REDIS_ERRORS as error:
            backend.command_failed(error)
            return []
        return [
            (place, Entry.parse(key.decode("utf-8")))
            for place, left in zip(places, results, strict=True)
            for key in left
        ]

    def _change(self, place: str, entry: Entry, change: str) -> int:
        backend = self.backend
        if not backend.available():
            return -1
        try:
            count = self._count(
                keys=[_presence_key(place)],
                args=[int(TTL * 1000), entry.key(), entry.user_id + "|", change],
            )
        except REDIS_ERRORS as error:
            backend.command_failed(error)
            return -1
        return int(count)


def _presence_key(place: str) -> str:
    return place + "|presence"
