"""Which worker owns each HTTP session, the live workers, the workers' inboxes and their stats,
in Redis (the backend side of gevent_io/forwarding.py and of the stats views).

A session's owner is a key (``<prefix>:session:<service>:<id>``) naming the worker, with an
expiry its owner renews; live workers are a sorted set, each scored with when it expires; an
inbox is a channel (``<prefix>:worker:<id>``) that only its worker subscribes to; a worker's
stats snapshot is a key with an expiry (``<prefix>:stats:<id>``).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from ..base import BackendAway
from .routing import REDIS_ERRORS

if TYPE_CHECKING:
    from .backend import RedisBackend

KEEP_BATCH = 1000
"""Sessions per call of the keeping script (Redis runs nothing else while a script runs)."""

# Claim a session for this worker unless another worker owns it; return the owner.
_CLAIM = """
local owner = redis.call('GET', KEYS[1])
if owner then return owner end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return ARGV[1]
"""
# Keep this worker's sessions (KEYS) owned by it: renew its keys, claim those nobody owns (a
# session opened while Redis was away, or whose key Redis lost in a restart); return the
# 1-based indexes of those another worker owns now.
_KEEP = """
local taken = {}
for i, key in ipairs(KEYS) do
  local owner = redis.call('GET', key)
  if not owner then
    redis.call('SET', key, ARGV[1], 'PX', ARGV[2])
  elseif owner == ARGV[1] then
    redis.call('PEXPIRE', key, ARGV[2])
  else
    taken[#taken + 1] = i
  end
end
return taken
"""
# The registry of live workers (a sorted set, each scored with when it expires): register this
# one (ARGV: id, ttl in ms), forget the expired, return the live.
_REGISTER = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return redis.call('ZRANGE', KEYS[1], 0, -1)
"""
# Forget a session's owner, if it is still this worker.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class RedisSessions:
    """Session owners, live workers and stats snapshots of one Redis backend."""

    def __init__(self, backend: RedisBackend) -> None:
        self.backend = backend
        client = backend.client
        self._claim = client.register_script(_CLAIM)
        self._keep = client.register_script(_KEEP)
        self._register = client.register_script(_REGISTER)
        self._release = client.register_script(_RELEASE)
        self._registry = backend.channel("workers")

    def key(self, session: str) -> str:
        return self.backend.channel("session:" + session)

    def owner(self, session: str, claim: str | None, ttl: float) -> str | None:
        def ask() -> Any:
            if claim is not None:
                return self._claim(keys=[self.key(session)], args=[claim, int(ttl * 1000)])
            return self.backend.client.get(self.key(session))

        return _text(self._command(ask))

    def release(self, sessions: list[str], worker: str) -> None:
        for session in sessions:
            self._command(lambda s=session: self._release(keys=[self.key(s)], args=[worker]))

    def keep(self, sessions: list[str], worker: str, ttl: float) -> list[int]:
        taken: list[int] = []
        indexes = {self.key(session): n for n, session in enumerate(sessions)}
        # One script touches one slot (on a cluster: the keys of one bucket at a time).
        for grouped in self.backend.routing.groups(indexes).values():
            for start in range(0, len(grouped), KEEP_BATCH):
                keys = grouped[start : start + KEEP_BATCH]
                found = self._command(
                    lambda keys=keys: self._keep(keys=keys, args=[worker, int(ttl * 1000)])
                )
                taken += [indexes[keys[int(index) - 1]] for index in found]
        return sorted(taken)

    def register(self, worker: str, ttl: float) -> set[str]:
        live = self._command(
            lambda: self._register(keys=[self._registry], args=[worker, int(ttl * 1000)])
        )
        return {_text(member) or "" for member in live}

    def registered(self) -> set[str]:
        live = self._command(lambda: self.backend.client.zrange(self._registry, 0, -1))
        return {_text(member) or "" for member in live}

    def _snapshot_key(self, worker: str) -> str:
        """A worker's stats key: beside the registry (on a cluster, all in its slot, so that
        one node is scanned for them)."""
        return self.backend.routing.beside(self._registry, self.backend.channel("stats:" + worker))

    def store_snapshot(self, worker: str, snapshot: dict[str, Any], ttl: float) -> None:
        key = self._snapshot_key(worker)
        try:
            self._command(lambda: self.backend.client.set(key, json.dumps(snapshot), ex=int(ttl)))
        except BackendAway:
            pass

    def snapshots(self) -> list[dict[str, Any]]:
        client = self.backend.routing.client_for(self.backend.client, self._registry)
        pattern = self._snapshot_key("*")

        def read() -> list[Any]:
            keys = list(client.scan_iter(match=pattern, count=500))
            return list(client.mget(keys)) if keys else []

        return [json.loads(raw) for raw in self._command(read) if raw]

    def _command(self, command: Any) -> Any:
        """Run ``command()``; BackendAway when Redis is away or fails."""
        backend = self.backend
        if not backend.available():
            raise BackendAway()
        try:
            result = command()
        except REDIS_ERRORS as error:
            backend.command_failed(error)
            raise BackendAway() from error
        backend.command_ok()
        return result


def _text(value: Any) -> str | None:
    return value.decode() if isinstance(value, bytes) else value
