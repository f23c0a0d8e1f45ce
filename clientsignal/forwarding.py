"""Sessions that work whichever worker a request lands on, through Redis.

gunicorn's workers share one listening socket, so the separate HTTP requests of one SockJS
session (each poll, each send) land on any worker. The worker that opens a session owns it: the
session, its queue and its connection object live there, and a key in Redis names the owner.
A request that lands on another worker is forwarded to the owner's inbox channel; the owner
answers it with its own session, exactly as if it had arrived there, and streams the answer
back chunk by chunk. Websocket sessions live on one socket, so they are never forwarded and
cost nothing extra; nor does a request that lands on its session's owner.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import gevent
import redis
import ujson
from gevent.event import Event
from gevent.queue import Empty, Queue

from .gevent_io import clock, frames, nothing, plain_text, respond, status_line, watch_disconnect
from .sockjs_protocol import Request, Response, SockJSServer, Stream
from .sockjs_protocol.router import route
from .sockjs_protocol.transports import TRANSPORTS, ReceivingTransport, WebSocket

if TYPE_CHECKING:
    from .backends.redis import RedisBackend

logger = logging.getLogger("clientsignal.forwarding")

# Seconds to wait for the owner's first answer before telling the client it is unreachable.
FORWARD_TIMEOUT = 5.0

# Claim a session for this worker unless another worker owns it; return the owner.
_CLAIM = """
local owner = redis.call('GET', KEYS[1])
if owner then return owner end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return ARGV[1]
"""
# Forget a session's owner, if it is still this worker.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class SessionCluster:
    """This worker's membership of the cluster of workers sharing HTTP sessions."""

    def __init__(self, backend: RedisBackend, servers: dict[str, SockJSServer]) -> None:
        self.backend = backend
        self.servers = servers
        self.id = "%s-%d" % (uuid.uuid4().hex[:12], os.getpid())
        self.inbox = backend.channel("worker:" + self.id)
        longest_delay = max((s.options.disconnect_delay for s in servers.values()), default=5.0)
        # An owner key outlives the session's idle wait; the owner refreshes it a few times
        # per lifetime (the reaper runs every second), so a dead worker's keys vanish on
        # their own about as soon as its sessions would have expired.
        self.ttl = max(3.0, 3 * longest_delay)
        self._next_refresh = 0.0
        self._claim = backend.client.register_script(_CLAIM)
        self._release = backend.client.register_script(_RELEASE)
        self._pending: dict[str, Queue] = {}
        self._streams: dict[str, tuple[Event, Callable[[], None]]] = {}
        self._redis_ok = True
        self.stats = {"forwarded": 0, "served_for_others": 0, "owner_unreachable": 0}
        backend.listen(self.inbox, self._on_message)

    # -- ownership ---------------------------------------------------------------------------

    def _key(self, prefix: str, session_id: str) -> str:
        return self.backend.channel("session:%s:%s" % (prefix, session_id))

    def owner(self, prefix: str, session_id: str, *, claim: bool) -> str | None:
        """The worker owning the session; with ``claim``, this worker if nobody does."""
        key = self._key(prefix, session_id)
        try:
            if claim:
                owner = self._claim(keys=[key], args=[self.id, int(self.ttl * 1000)])
            else:
                owner = self.backend.client.get(key)
        except (redis.RedisError, OSError) as error:
            self._redis_down(error)
            return None  # serve it here: right for one worker, the best we can do for more
        self._redis_up()
        return owner.decode() if isinstance(owner, bytes) else owner

    def release(self, prefix: str, session_ids: list[str]) -> None:
        for session_id in session_ids:
            try:
                self._release(keys=[self._key(prefix, session_id)], args=[self.id])
            except (redis.RedisError, OSError) as error:
                self._redis_down(error)
                return

    def refresh(self, now: float) -> None:
        """Keep this worker's owner keys alive (called by the reaper every second)."""
        if now < self._next_refresh:
            return
        self._next_refresh = now + self.ttl / 3
        try:
            pipe = self.backend.client.pipeline(transaction=False)
            for prefix, server in self.servers.items():
                for session in server.store:
                    pipe.pexpire(self._key(prefix, session.id), int(self.ttl * 1000))
            pipe.execute()
        except (redis.RedisError, OSError) as error:
            self._redis_down(error)

    # -- the worker a request landed on -----------------------------------------------------------

    def route(
        self,
        prefix: str,
        server: SockJSServer,
        request: Request,
        environ: dict[str, Any],
        start_response: Callable[..., Any],
    ) -> Any:
        """Forward the request if another worker owns its session; None to serve it here."""
        target = route(request.path)
        if target.kind != "session" or server.store.get(target.session_id) is not None:
            return None
        cls = TRANSPORTS.get(target.transport)
        if cls is None or cls is WebSocket or request.method not in cls.methods:
            return None
        # Owning a session means answering requests forwarded to our inbox, and forwarding
        # one means reading the answer there: both need the subscription in place.
        if not self.backend.wait_subscribed(self.inbox, FORWARD_TIMEOUT):
            return None
        receiving = issubclass(cls, ReceivingTransport)
        owner = self.owner(prefix, target.session_id, claim=receiving)
        if owner is None or owner == self.id:
            return None
        return self._forward(owner, prefix, request, environ, start_response)

    def _forward(
        self,
        owner: str,
        prefix: str,
        request: Request,
        environ: dict[str, Any],
        start_response: Callable[..., Any],
    ) -> Any:
        token = uuid.uuid4().hex
        replies: Queue = Queue()
        self._pending[token] = replies
        header = {
            "op": "request",
            "token": token,
            "reply_to": self.inbox,
            "prefix": prefix,
            "method": request.method,
            "path": request.path,
            "query": request.query_string,
            "headers": request.headers,
            "remote_addr": request.remote_addr,
        }
        owner_inbox = self.backend.channel("worker:" + owner)
        self.stats["forwarded"] += 1
        if not self._publish(owner_inbox, header, request.body):
            del self._pending[token]
            return respond(start_response, plain_text(503, "Session owner unreachable."))
        try:
            op, reply, body = replies.get(timeout=FORWARD_TIMEOUT)
        except Empty:
            del self._pending[token]
            self.stats["owner_unreachable"] += 1
            logger.warning("worker %s did not answer for %s %s", owner, prefix, request.path)
            return respond(start_response, plain_text(503, "Session owner unreachable."))
        if op == "response":
            del self._pending[token]
            return respond(start_response, Response(reply["status"], _headers(reply), body))
        start_response(status_line(reply["status"]), _headers(reply))
        heartbeat = self.servers[prefix].options.heartbeat_delay
        return self._relay(token, owner_inbox, body, replies, environ, heartbeat)

    def _relay(
        self,
        token: str,
        owner_inbox: str,
        prelude: bytes,
        replies: Queue,
        environ: dict[str, Any],
        heartbeat: float,
    ) -> Iterator[bytes]:
        """Write the owner's chunks as they come; tell the owner if our client goes away."""
        gone = watch_disconnect(environ, _QueueWaker(replies))
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
            gone.stop()
            self._pending.pop(token, None)
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
            stream = self._streams.get(header["token"])
            if stream is not None:
                aborted, wake = stream
                aborted.set()
                wake()
        else:
            replies = self._pending.get(header["token"])
            if replies is not None:
                replies.put((op, header, body))

    def _serve_forwarded(self, header: dict[str, Any], body: bytes) -> None:
        self.stats["served_for_others"] += 1
        token, reply_to = header["token"], header["reply_to"]
        server = self.servers.get(header["prefix"])
        if server is None:
            self._reply(reply_to, token, Response(404, [], b"Not found."))
            return
        request = Request(
            method=header["method"],
            path=header["path"],
            query_string=header["query"],
            headers=header["headers"],
            body=body,
            remote_addr=header["remote_addr"],
            environ=_environ(header),
        )
        result = server.handle(request, clock())
        if not isinstance(result, Stream):
            if not isinstance(result, Response):
                result = plain_text(400, "Not a valid websocket request.")
            self._reply(reply_to, token, result)
            return
        receiver = result.receiver
        wakeup, aborted = Event(), Event()
        receiver.wake = wakeup.set
        self._streams[token] = (aborted, wakeup.set)
        head = {"op": "head", "token": token, "status": result.status, "headers": result.headers}
        try:
            if not self._publish(reply_to, head, result.prelude):
                receiver.abort(clock())
                return
            for chunk in frames(receiver, wakeup, aborted):
                if not self._publish(reply_to, {"op": "chunk", "token": token}, _bytes(chunk)):
                    receiver.abort(clock())
                    return
            self._publish(reply_to, {"op": "end", "token": token}, b"")
        finally:
            receiver.wake = nothing
            del self._streams[token]

    def _reply(self, reply_to: str, token: str, response: Response) -> None:
        header = {
            "op": "response",
            "token": token,
            "status": response.status,
            "headers": response.headers,
        }
        self._publish(reply_to, header, response.body)

    # -- Redis -------------------------------------------------------------------------------------

    def _publish(self, channel: str, header: dict[str, Any], body: bytes) -> bool:
        try:
            self.backend.client.publish(channel, ujson.dumps(header).encode() + b"\n" + body)
        except (redis.RedisError, OSError) as error:
            self._redis_down(error)
            return False
        return True

    def _redis_down(self, error: Exception) -> None:
        if self._redis_ok:
            self._redis_ok = False
            logger.error(
                "session forwarding cannot reach Redis (%s): serving requests where they land",
                error,
            )

    def _redis_up(self) -> None:
        if not self._redis_ok:
            self._redis_ok = True
            logger.warning("session forwarding reaches Redis again")


class _QueueWaker:
    """Lets the disconnect watcher wake a relay that waits on its reply queue."""

    def __init__(self, replies: Queue) -> None:
        self._replies = replies

    def set(self) -> None:
        self._replies.put(("gone", None, b""))


def _headers(reply: dict[str, Any]) -> list[tuple[str, str]]:
    return [(name, value) for name, value in reply["headers"]]


def _bytes(chunk: str | bytes) -> bytes:
    return chunk if isinstance(chunk, bytes) else chunk.encode("utf-8")


def _environ(header: dict[str, Any]) -> dict[str, Any]:
    """A WSGI environ for a forwarded request, for the Django request of a new connection."""
    environ = {
        "REQUEST_METHOD": header["method"],
        "PATH_INFO": header["prefix"] + header["path"],
        "QUERY_STRING": header["query"],
        "REMOTE_ADDR": header["remote_addr"],
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "80",
        "wsgi.url_scheme": "http",
    }
    for name, value in header["headers"].items():
        key = name.upper().replace("-", "_")
        environ[key if key == "CONTENT_TYPE" else "HTTP_" + key] = value
    return environ
