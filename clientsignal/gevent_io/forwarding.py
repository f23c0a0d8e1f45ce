"""Sessions that work whichever worker a request lands on, through Redis.

gunicorn's workers share one listening socket, so the separate HTTP requests of one SockJS
session (each poll, each send) land on any worker. The worker that opens a session owns it: the
session, its queue and its connection object live there, and a key in Redis names the owner.
A request that lands on another worker is forwarded to the owner's inbox channel; the owner
answers it with its own session, exactly as if it had arrived there, and streams the answer
back chunk by chunk. Websocket sessions live on one socket, so they are never forwarded and
cost nothing extra; nor does a request that lands on its session's owner.

While Redis is unreachable, nothing waits for it: a worker serves the sessions it holds and
opens new ones itself, and a request for a session it knows another worker owns fails at once
with 503.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import gevent
import redis
import ujson
from gevent.event import AsyncResult, Event
from gevent.queue import Empty, Queue

from ..episodes import Episode
from ..sockjs_protocol import Request, Response, Stream
from .http import clock, frames, nothing, plain_text, respond, status_line, watch_disconnect

if TYPE_CHECKING:
    from ..backends.redis import RedisBackend
    from ..services import Match, Services
    from .http import DisconnectWatch

logger = logging.getLogger("clientsignal.forwarding")

FORWARD_TIMEOUT = 5.0
"""Seconds to wait for the owner's first answer before telling the client it is unreachable."""

SUBSCRIBE_WAIT = 1.0
"""Seconds a request waits, at a worker's start, for its inbox subscription."""

ALIVE_TIMEOUT = 0.5
"""Seconds the owner waits for a relaying worker to say whether its client is still there."""

REGISTER_WINDOW = 3.5
"""Seconds, at most, after Redis answers again (to this worker) during which a poll for a
session nobody owns in Redis waits for the other workers to claim theirs again before this
worker takes it: Redis may have lost every owner key (a restart, a failover), and each worker
sees Redis back when its own subscriber reconnects (with a backoff of up to 2 s), then claims
its sessions at once and says so in the workers' registry. The wait ends as soon as every
worker registered before the outage has done so (in a moment when they all reconnect
together), or the session's owner is found."""

KNOWN_OWNERS = 10_000
"""Owners of other workers' sessions remembered, to fail fast while Redis is away."""

UNREACHABLE = "Session owner unreachable."

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
KEEP_BATCH = 1000
"""Keys per call of the keeping script."""
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

# The fields of a forwarded request; the owner finds url_kwargs again from the prefix.
_FIELDS = (
    "method",
    "path",
    "query_string",
    "headers",
    "remote_addr",
    "prefix",
    "scheme",
    "server_name",
    "server_port",
    "script_name",
    "protocol",
    "date",
)


class SessionCluster:
    """This worker's membership of the cluster of workers sharing HTTP sessions."""

    def __init__(self, backend: RedisBackend, services: Services) -> None:
        self.backend = backend
        self.services = services
        self.id = "%s-%d" % (uuid.uuid4().hex[:12], os.getpid())
        self.inbox = backend.channel("worker:" + self.id)
        longest_delay = max(
            (server.options.disconnect_delay for server in services.servers()), default=5.0
        )
        # An owner key outlives the session's idle wait; the owner refreshes it a few times
        # per lifetime (the reaper runs every second), so a dead worker's keys vanish on
        # their own about as soon as its sessions would have expired.
        self.ttl = max(3.0, 3 * longest_delay)
        self._next_refresh = 0.0
        self._claim = backend.client.register_script(_CLAIM)
        self._release = backend.client.register_script(_RELEASE)
        self._keep = backend.client.register_script(_KEEP)
        self._register = backend.client.register_script(_REGISTER)
        self._registry = backend.channel("workers")
        self._workers: set[str] = set()  # live at the last refresh
        self._awaited: set[str] = set()  # live before an outage, not registered again yet
        self._redis_was_there = True
        self._back_since = -REGISTER_WINDOW
        backend.when_back(lambda: gevent.spawn(self.refresh, clock()))
        self._pending: dict[str, Queue] = {}  # replies to requests this worker forwarded
        self._served: dict[str, tuple[Event, Callable[[], None]]] = {}  # streams served here
        self._relays: dict[str, DisconnectWatch] = {}  # streams relayed to this worker's clients
        self._questions: dict[str, AsyncResult] = {}
        self._owners: OrderedDict[tuple[str, str], str] = OrderedDict()
        self._silent = Episode()
        self.stats = {"forwarded": 0, "served_for_others": 0, "owner_unreachable": 0}
        backend.listen(self.inbox, self._on_message)

    # -- ownership ---------------------------------------------------------------------------

    def _key(self, mount: str, session_id: str) -> str:
        return self.backend.channel("session:%s:%s" % (mount, session_id))

    def owner(self, mount: str, session_id: str, *, claim: bool) -> str | None:
        """The worker owning the session (None: no worker does); with ``claim``, this
        worker if nobody does. Raises :class:`OwnerUnknown` when Redis cannot say."""
        key = self._key(mount, session_id)
        try:
            if claim:
                owner = self._claim(keys=[key], args=[self.id, int(self.ttl * 1000)])
            else:
                owner = self.backend.client.get(key)
        except (redis.RedisError, OSError) as error:
            self.backend.command_failed(error)
            raise OwnerUnknown() from error
        self.backend.command_ok()
        owner = owner.decode() if isinstance(owner, bytes) else owner
        if owner is not None and owner != self.id:
            self._remember(mount, session_id, owner)
        return owner

    def release(self, mount: str, session_ids: list[str]) -> None:
        if not session_ids or not self.backend.available():
            return
        for session_id in session_ids:
            try:
                self._release(keys=[self._key(mount, session_id)], args=[self.id])
            except (redis.RedisError, OSError) as error:
                self.backend.command_failed(error)
                return

    def refresh(self, now: float) -> None:
        """Keep this worker registered and its sessions owned by it in Redis (called by the
        reaper every second, and at once when Redis answers again, so that a session opened
        while it was away, or whose key Redis lost, is claimed before another worker, asked for
        it, takes it for a new one). A session another worker owns meanwhile is this worker's
        no more: it expires here."""
        if not self._redis_is_there(now):
            return
        if now < self._next_refresh:
            return
        self._next_refresh = now + self.ttl / 3
        held = [(mount, session) for mount, server in self.services for session in server.store]
        try:
            live = self._register(keys=[self._registry], args=[self.id, int(self.ttl * 1000)])
            self._workers = {member.decode() for member in live}
            for start in range(0, len(held), KEEP_BATCH):
                batch = held[start : start + KEEP_BATCH]
                keys = [self._key(mount, session.id) for mount, session in batch]
                taken = self._keep(keys=keys, args=[self.id, int(self.ttl * 1000)])
                for index in taken:
                    mount, session = batch[int(index) - 1]
                    logger.info(
                        "session %s is owned by another worker since Redis came back: it ends here",
                        session.tag,
                    )
                    session.expire()
        except (redis.RedisError, OSError) as error:
            self.backend.command_failed(error)

    def _redis_is_there(self, now: float) -> bool:
        """Whether Redis answers; when it answers again, this worker's sessions are claimed
        at the next refresh, and others' claims wait (:data:`REGISTER_WINDOW`)."""
        if not self.backend.available():
            self._redis_was_there = False
            return False
        if not self._redis_was_there:
            self._redis_was_there = True
            self._back_since = now
            self._next_refresh = 0.0
            self._awaited = self._workers - {self.id}
        return True

    def _owner_after_an_outage(self, mount: str, session_id: str) -> str | None:
        """Right after Redis answers again, a session nobody owns may be another worker's
        that has not claimed it again yet: wait until it has, or until every worker that was
        there before has registered again (within the window), then claim."""
        while True:
            owner = self.owner(mount, session_id, claim=False)
            if owner is not None or clock() >= self._back_since + REGISTER_WINDOW:
                break
            if self._awaited:
                try:
                    registered = self.backend.client.zrange(self._registry, 0, -1)
                except (redis.RedisError, OSError) as error:
                    self.backend.command_failed(error)
                    raise OwnerUnknown() from error
                self._awaited -= {_text(member) for member in registered}
            if not self._awaited:
                break
            gevent.sleep(0.05)
        return owner if owner is not None else self.owner(mount, session_id, claim=True)

    def _remember(self, mount: str, session_id: str, owner: str) -> None:
        self._owners[(mount, session_id)] = owner
        self._owners.move_to_end((mount, session_id))
        while len(self._owners) > KNOWN_OWNERS:
            self._owners.popitem(last=False)

    # -- the worker a request landed on -----------------------------------------------------------

    def route(
        self,
        match: Match,
        request: Request,
        environ: dict[str, Any],
        start_response: Callable[..., Any],
    ) -> Any:
        """Forward the request if another worker owns its session; None to serve it here."""
        server = match.server
        target = server.target(request)
        if target is None or server.has_session(target.session_id):
            return None
        known = self._owners.get((match.mount, target.session_id))
        try:
            if not self._redis_is_there(clock()):
                raise OwnerUnknown()
            # Owning a session means answering requests forwarded to our inbox, and
            # forwarding one means reading the answer there: both need the subscription.
            if not self.backend.wait_subscribed(self.inbox, SUBSCRIBE_WAIT):
                raise OwnerUnknown()
            if target.receiving and clock() < self._back_since + REGISTER_WINDOW:
                owner = self._owner_after_an_outage(match.mount, target.session_id)
            else:
                owner = self.owner(match.mount, target.session_id, claim=target.receiving)
        except OwnerUnknown:
            # Redis cannot say who owns it. A send, or a request for a session known to be
            # another worker's, fails at once: answered here it would be a 404, and the
            # client would drop a session that lives on. A poll opens the session here.
            if known is not None or not target.receiving:
                self.stats["owner_unreachable"] += 1
                return respond(start_response, plain_text(503, UNREACHABLE))
            return None
        if owner is None or owner == self.id:
            return None
        return self._forward(owner, match, request, environ, start_response)

    def _forward(
        self,
        owner: str,
        match: Match,
        request: Request,
        environ: dict[str, Any],
        start_response: Callable[..., Any],
    ) -> Any:
        token = uuid.uuid4().hex
        replies: Queue = Queue()
        self._pending[token] = replies
        # Watched from now, not from the first chunk: the owner may ask whether this client
        # is still there (a later poll of the session) before the answer's head comes back.
        gone = watch_disconnect(environ, _QueueWaker(replies))
        self._relays[token] = gone
        header = {
            "op": "request",
            "token": token,
            "reply_to": self.inbox,
            "mount": match.mount,
            "request": {name: getattr(request, name) for name in _FIELDS},
        }
        owner_inbox = self.backend.channel("worker:" + owner)
        self.stats["forwarded"] += 1
        # Nobody on the owner's inbox (it died, its key not yet expired): 503 now, not after
        # FORWARD_TIMEOUT.
        if not self._publish(owner_inbox, header, request.body, heard=True):
            self._forget(token)
            return respond(start_response, plain_text(503, UNREACHABLE))
        try:
            op, reply, body = replies.get(timeout=FORWARD_TIMEOUT)
            while op == "gone":  # the client left before the answer: wait for it all the same
                op, reply, body = replies.get(timeout=FORWARD_TIMEOUT)
        except Empty:
            self._forget(token)
            self.stats["owner_unreachable"] += 1
            if self._silent.hit(clock()):
                logger.warning(
                    "worker %s did not answer a forwarded %s %s in %.0f s: 503; further "
                    "ones are counted (owner_unreachable), not logged, until a minute passes",
                    owner,
                    request.method,
                    request.prefix,
                    FORWARD_TIMEOUT,
                )
            return respond(start_response, plain_text(503, UNREACHABLE))
        if op == "response":
            self._forget(token)
            return respond(start_response, Response(reply["status"], _headers(reply), body))
        start_response(status_line(reply["status"]), _headers(reply))
        heartbeat = match.server.options.heartbeat_delay
        if gone.is_set():
            replies.put(("gone", None, b""))  # it left while the head was on its way
        return self._relay(token, owner_inbox, body, replies, gone, heartbeat)

    def _forget(self, token: str) -> None:
        self._pending.pop(token, None)
        relay = self._relays.pop(token, None)
        if relay is not None:
            relay.stop()

    def _relay(
        self,
        token: str,
        owner_inbox: str,
        prelude: bytes,
        replies: Queue,
        gone: DisconnectWatch,
        heartbeat: float,
    ) -> Iterator[bytes]:
        """Write the owner's chunks as they come; tell the owner if our client goes away,
        and answer its questions about whether our client is still there."""
        finished = False
        try:
            if prelude:
                yield prelude
            while True:
                try:
                    # The owner writes at least a heartbeat this often.
                    op, _reply, body = replies.get(timeout=heartbeat + FORWARD_TIMEOUT)
                except Empty:
                    logger.warning("the owner of a forwarded stream went silent")
                    return
                if op == "end":
                    finished = True
                    return
                if op == "gone":
                    return
                yield body
        finally:
            self._forget(token)
            if not finished:
                self._publish(owner_inbox, {"op": "abort", "token": token}, b"")

    # -- the owner ------------------------------------------------------------------------------

    def _on_message(self, data: bytes) -> None:
        head, _, body = data.partition(b"\n")
        header = ujson.loads(head)
        op = header["op"]
        if op == "request":
            gevent.spawn(self._serve_forwarded, header, body)
        elif op == "abort":
            served = self._served.get(header["token"])
            if served is not None:
                aborted, wake = served
                aborted.set()
                wake()
        elif op == "alive?":
            relay = self._relays.get(header["token"])
            alive = relay is not None and relay.alive()
            answer = {"op": "alive", "question": header["question"], "alive": alive}
            self._publish(header["reply_to"], answer, b"")
        elif op == "alive":
            question = self._questions.get(header["question"])
            if question is not None:
                question.set(header["alive"])
        else:
            replies = self._pending.get(header["token"])
            if replies is not None:
                replies.put((op, header, body))

    def _serve_forwarded(self, header: dict[str, Any], body: bytes) -> None:
        self.stats["served_for_others"] += 1
        token, reply_to = header["token"], header["reply_to"]
        fields = header["request"]
        match = self.services.match(fields["prefix"] + fields["path"])
        if match is None or match.mount != header["mount"] or match.prefix != fields["prefix"]:
            self._reply(reply_to, token, Response(404, [], b"Not found."))
            return
        request = Request(**fields, body=body, url_kwargs=match.url_kwargs)
        result = match.server.handle(request, clock())
        if not isinstance(result, Stream):
            if not isinstance(result, Response):
                result = plain_text(400, "Not a valid websocket request.")
            self._reply(reply_to, token, result)
            return
        receiver = result.receiver
        wakeup, aborted = Event(), Event()
        receiver.wake = wakeup.set
        # Whether the client is still there, a later request of the session asks the worker
        # that relays this stream: it holds the client's socket.
        receiver.alive = lambda: self._ask_alive(reply_to, token)
        self._served[token] = (aborted, wakeup.set)
        head = {"op": "head", "token": token, "status": result.status, "headers": result.headers}
        try:
            # Each chunk (a heartbeat at least) must reach a listener: a relaying worker that
            # died (SIGKILL, OOM) sends no abort, and its receiver would hold the session
            # open with nobody at the other end.
            if not self._publish(reply_to, head, result.prelude, heard=True):
                receiver.abort(clock())
                return
            for chunk in frames(receiver, wakeup, aborted):
                chunk_head = {"op": "chunk", "token": token}
                if not self._publish(reply_to, chunk_head, _bytes(chunk), heard=True):
                    receiver.abort(clock())
                    return
            self._publish(reply_to, {"op": "end", "token": token}, b"")
        finally:
            receiver.wake = nothing
            del self._served[token]

    def _ask_alive(self, relay_inbox: str, token: str) -> bool:
        """Ask the worker relaying stream ``token`` whether its client is still connected;
        one that does not answer in time has lost it."""
        question = uuid.uuid4().hex
        answer = AsyncResult()
        self._questions[question] = answer
        try:
            header = {"op": "alive?", "token": token, "question": question, "reply_to": self.inbox}
            if not self._publish(relay_inbox, header, b"", heard=True):
                # Redis is away: the receiver stays until it ends by itself. Redis is there
                # but nobody listens: the relaying worker is gone, and its client with it.
                return not self.backend.available()
            return bool(answer.get(timeout=ALIVE_TIMEOUT))
        except gevent.Timeout:
            return False
        finally:
            del self._questions[question]

    def _reply(self, reply_to: str, token: str, response: Response) -> None:
        header = {
            "op": "response",
            "token": token,
            "status": response.status,
            "headers": response.headers,
        }
        self._publish(reply_to, header, response.body)

    # -- Redis -------------------------------------------------------------------------------------

    def _publish(
        self, channel: str, header: dict[str, Any], body: bytes, *, heard: bool = False
    ) -> bool:
        """Publish one message; False if Redis is away, or if nobody subscribes to
        ``channel`` and it had to be ``heard``."""
        if not self.backend.available():
            return False
        try:
            listeners = self.backend.client.publish(
                channel, ujson.dumps(header).encode() + b"\n" + body
            )
        except (redis.RedisError, OSError) as error:
            self.backend.command_failed(error)
            return False
        return bool(listeners) or not heard


class OwnerUnknown(Exception):
    """Redis cannot say which worker owns a session."""


class _QueueWaker:
    """Lets the disconnect watcher wake a relay that waits on its reply queue."""

    def __init__(self, replies: Queue) -> None:
        self._replies = replies

    def set(self) -> None:
        self._replies.put(("gone", None, b""))


def _headers(reply: dict[str, Any]) -> list[tuple[str, str]]:
    return [(name, value) for name, value in reply["headers"]]


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _bytes(chunk: str | bytes) -> bytes:
    return chunk if isinstance(chunk, bytes) else chunk.encode("utf-8")
