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
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import redis

from ...episodes import Episode
from ..base import BackendAway, BaseBackend, Envelope, Member
from ..presence import Entry
from ..streams import History, Position, Replay
from .history import RedisHistory
from .presence import RedisPresence
from .routing import REDIS_ERRORS
from .sessions import RedisSessions
from .subscription import Subscription
from .topology import topology
from .url import DEFAULT_URL, safe_url

if TYPE_CHECKING:
    import gevent

logger = logging.getLogger("clientsignal.backends.redis")

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


class RedisBackend(BaseBackend):
    """Publishes to Redis channels; one subscriber greenlet per process delivers locally."""

    def __init__(self, url: str | None = None, options: dict[str, Any] | None = None) -> None:
        super().__init__(url or DEFAULT_URL, options)
        self.url: str = url or DEFAULT_URL
        # A bad URL fails here, at start-up.
        self.topology = topology(
            self.url,
            command_timeout=COMMAND_TIMEOUT,
            pool_size=PUBLISH_CONNECTIONS,
            pool_wait=POOL_WAIT,
        )
        self.routing = self.topology.routing
        self._publisher = self.topology.publisher()
        self.history = RedisHistory(self)
        self.worker = uuid.uuid4().hex[:8]
        self.presence_entries = RedisPresence(self)
        self.sessions = RedisSessions(self)
        self.wanted: set[str] = set()
        self.inboxes: dict[str, Callable[[bytes], None]] = {}
        self._confirmed: set[str] = set()
        # Targeted messages (groups, users, single connections) reach every process by
        # pattern (on a cluster, every message by its bucket's shard channel); each delivers
        # to its own members.
        self.patterns = self.routing.patterns(self.options.get("CHANNEL_PREFIX", "clientsignal"))
        self._target_prefixes = tuple(
            self.channel("%s:" % kind) for kind in self.TARGETS if not self.routing.sharded
        )
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

    def channel(self, name: str) -> str:
        return self.routing.channel(self.options.get("CHANNEL_PREFIX", "clientsignal"), name)

    # -- publishing (any process) ------------------------------------------------------------

    def publish(self, channel: str, envelope: Envelope, history: History | None = None) -> None:
        kept = self.history
        if not self.available() or (kept.lost and not kept.mark_lost()):
            self.stats["publish_errors"] += 1
            kept.lose(channel, history)
            return
        try:
            if history is None:
                self.routing.publish(self._publisher, channel, envelope.to_bytes())
            else:
                kept.append(channel, history, envelope)
        except REDIS_ERRORS as error:
            self.stats["publish_errors"] += 1
            kept.lose(channel, history)
            self.command_failed(error)
            return
        self.stats["published"] += 1
        self.command_ok()

    def replay(self, channel: str, since: Position, history: History) -> Replay:
        return self.history.replay(channel, since, history)

    def heads(self, streams: dict[str, History]) -> dict[str, Position]:
        return self.history.heads(streams)

    def presence_add(self, place: str, entry: Entry) -> int:
        return self.presence_entries.add(place, entry)

    def presence_remove(self, place: str, entry: Entry) -> int:
        return self.presence_entries.remove(place, entry)

    def presence(self, place: str) -> list[Entry]:
        return self.presence_entries.entries(place)

    def refresh_presence(self) -> list[tuple[str, Entry]]:
        return self.presence_entries.refresh()

    def session_owner(self, session: str, claim: str | None = None, ttl: float = 0) -> str | None:
        return self.sessions.owner(session, claim, ttl)

    def release_sessions(self, sessions: list[str], worker: str) -> None:
        self.sessions.release(sessions, worker)

    def keep_sessions(self, sessions: list[str], worker: str, ttl: float) -> list[int]:
        return self.sessions.keep(sessions, worker, ttl)

    def register_worker(self, worker: str, ttl: float) -> set[str]:
        return self.sessions.register(worker, ttl)

    def registered_workers(self) -> set[str]:
        return self.sessions.registered()

    def store_snapshot(self, worker: str, snapshot: dict[str, Any], ttl: float) -> None:
        self.sessions.store_snapshot(worker, snapshot, ttl)

    def snapshots(self) -> list[dict[str, Any]] | None:
        try:
            return self.sessions.snapshots()
        except BackendAway:
            return None

    def open_inbox(self, inbox: str, receive: Callable[[bytes], None]) -> None:
        self.inboxes[inbox] = receive
        self._subscribe((inbox,))

    def inbox_ready(self, inbox: str, timeout: float) -> bool:
        return self.wait_subscribed(inbox, timeout)

    def post(self, inbox: str, data: bytes, *, heard: bool = False) -> bool:
        if not self.available():
            return False
        try:
            listeners = self.routing.post(self._publisher, inbox, data)
        except REDIS_ERRORS as error:
            self.command_failed(error)
            return False
        return bool(listeners) or not heard

    def describe(self) -> dict[str, Any]:
        return self.topology.describe()

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
            self.history.retired.discard(channel)
        # Targeted channels arrive through the patterns: subscribing them too would deliver
        # their messages twice.
        self._subscribe(self._by_name(channels))

    def leave_channels(self, connection: Member, channels: tuple[str, ...]) -> None:
        self.history.marks.forget(self.hub.discard(connection, channels))

    def leave(self, connection: Member) -> None:
        self.history.retire(connection)

    def serve(self, channels: tuple[str, ...], deadline: float) -> bool:
        self._subscribe(self._by_name(channels))
        return all(
            self.wait_subscribed(channel, deadline - time.monotonic())
            for channel in self.receiving(channels)
        )

    def receiving(self, channels: tuple[str, ...]) -> tuple[str, ...]:
        """What Redis must have confirmed for this process to receive ``channels``."""
        return (*self._by_name(channels), *self.patterns)

    def _by_name(self, channels: tuple[str, ...]) -> tuple[str, ...]:
        """Those of ``channels`` the subscriber subscribes to by name (not by pattern)."""
        return tuple(
            c for c in channels if self.routing.subscribed_by_name(c, self._target_prefixes)
        )

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
        self.wanted.update(channels)
        if self._subscriber is None and not self._stopped:
            # The one greenlet of the process that receives (gevent_io: the only place with
            # greenlets) runs this backend's subscription.
            from ...gevent_io.subscriber import receive

            self._subscriber = receive(Subscription(self), lambda: self._stopped)

    def purge(self) -> int:
        """Delete every key under this backend's prefix (``SCAN`` then ``UNLINK``, by the
        hundred). Raises what redis-py raises when Redis does not answer."""
        pattern = _glob_escape(self.channel("")) + "*"
        client = self._publisher
        deleted = 0
        batch: list[bytes] = []
        for key in client.scan_iter(match=pattern, count=500):
            batch.append(key)
            if len(batch) == 100:
                deleted += _unlink(client, batch)
                batch = []
        return deleted + (_unlink(client, batch) if batch else 0)

    def close(self) -> None:
        self._stopped = True
        if self._subscriber is not None:
            self._subscriber.kill(block=False)
            self._subscriber = None
        self._publisher.close()

    def subscribed(self, channel: str) -> None:
        """Redis confirmed the subscriber's subscription to ``channel``: what is published to
        it reaches this process from now on, and Redis answers."""
        self._confirmed.add(channel)
        if self._subscriber_down or self.state != "connected":
            self._subscriber_down = False
            self._retry_at = 0.0
            self._set_state("connected")

    def subscriber_lost(self, error: Exception) -> None:
        """The subscriber lost Redis: requests skip it until it is subscribed again."""
        self._confirmed.clear()
        self._subscriber_down = True
        self._set_state("disconnected", error)

    def _set_state(self, state: str, error: Exception | None = None) -> None:
        """Log each change of state once, not once per retry or per failed command."""
        if state == self.state:
            return
        previous, self.state = self.state, state
        if state == "connected":
            if previous == "disconnected":
                logger.warning("Redis at %s answers again", safe_url(self.url))
                for callback in self._back_callbacks:
                    try:
                        callback()
                    except Exception:
                        logger.exception("a callback for Redis answering again failed")
            else:
                logger.info("Redis subscriber connected to %s", safe_url(self.url))
        else:
            logger.error(
                "Redis at %s is unreachable (%s): requests skip it and events published "
                "meanwhile are lost (counted: publish_errors); retrying with backoff",
                safe_url(self.url),
                error,
            )


def _glob_escape(text: str) -> str:
    """``text`` as a literal in a ``SCAN MATCH`` pattern."""
    return "".join("\\" + c if c in "\\*?[]" else c for c in text)


def _unlink(client: Any, keys: list[bytes]) -> int:
    # One command per key in one pipeline: keys of a cluster may be in different slots.
    pipe = client.pipeline(transaction=False)
    for key in keys:
        pipe.unlink(key)
    return sum(pipe.execute())
