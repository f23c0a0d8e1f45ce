"""Sessions that work whichever worker a request lands on, through the backend (Redis).

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

What workers say to each other is the core's (sockjs_protocol/forwarding.py: messages, sans
I/O); who owns a session, the live workers and the inboxes are the backend's (BaseBackend's
session and inbox methods); this module is the greenlets in between: the relay of a forwarded
request, and the owner's serving of it.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import gevent
from gevent.event import AsyncResult, Event
from gevent.queue import Empty, Queue

from ..backends.base import BackendAway
from ..episodes import Episode
from ..sockjs_protocol import Request, Response, Stream
from ..sockjs_protocol import forwarding as messages
from .http import clock, frames, nothing, plain_text, respond, status_line, watch_disconnect

if TYPE_CHECKING:
    from ..backends import BaseBackend
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


class SessionCluster:
    """This worker's membership of the cluster of workers sharing HTTP sessions."""

    def __init__(self, backend: BaseBackend, services: Services) -> None:
        self.backend = backend
        self.services = services
        self.id = "%s-%d" % (uuid.uuid4().hex[:12], os.getpid())
        self.inbox = self.inbox_of(self.id)
        longest_delay = max(
            (server.options.disconnect_delay for server in services.servers()), default=5.0
        )
        # An owner's claim outlives the session's idle wait; the owner renews it a few times
        # per lifetime (the reaper runs every second), so a dead worker's claims vanish on
        # their own about as soon as its sessions would have expired.
        self.ttl = max(3.0, 3 * longest_delay)
        self._next_refresh = 0.0
        self._workers: set[str] = set()  # live at the last refresh
        self._awaited: set[str] = set()  # live before an outage, not registered again yet
        self._backend_was_there = True
        self._back_since = -REGISTER_WINDOW
        self._pending: dict[str, Queue] = {}  # replies to requests this worker forwarded
        self._served: dict[str, tuple[Event, Callable[[], None]]] = {}  # streams served here
        self._relays: dict[str, DisconnectWatch] = {}  # streams relayed to this worker's clients
        self._questions: dict[str, AsyncResult] = {}
        self._owners: OrderedDict[tuple[str, str], str] = OrderedDict()
        self._silent = Episode()
        self.stats = {"forwarded": 0, "served_for_others": 0, "owner_unreachable": 0}
        backend.when_back(lambda: gevent.spawn(self.refresh, clock()))
        backend.open_inbox(self.inbox, self._on_message)

    def inbox_of(self, worker: str) -> str:
        return self.backend.channel("worker:" + worker)

    # -- ownership ---------------------------------------------------------------------------

    def owner(self, mount: str, session_id: str, *, claim: bool) -> str | None:
        """The worker owning the session (None: no worker does); with ``claim``, this
        worker if nobody does. Raises :class:`BackendAway` when the backend cannot say."""
        owner = self.backend.session_owner(
            _session(mount, session_id), self.id if claim else None, self.ttl
        )
        if owner is not None and owner != self.id:
            self._remember(mount, session_id, owner)
        return owner

    def release(self, mount: str, session_ids: list[str]) -> None:
        if not session_ids or not self.backend.available():
            return
        try:
            self.backend.release_sessions([_session(mount, i) for i in session_ids], self.id)
        except BackendAway:
            pass

    def refresh(self, now: float) -> None:
        """Keep this worker registered and its sessions owned by it (called by the reaper
        every second, and at once when the backend answers again, so that a session opened
        while it was away, or whose claim it lost, is claimed before another worker, asked
        for it, takes it for a new one). A session another worker owns meanwhile is this
        worker's no more: it expires here."""
        if not self._backend_is_there(now) or now < self._next_refresh:
            return
        self._next_refresh = now + self.ttl / 3
        held = [(mount, session) for mount, server in self.services for session in server.store]
        try:
            self._workers = self.backend.register_worker(self.id, self.ttl)
            sessions = [_session(mount, session.id) for mount, session in held]
            for index in self.backend.keep_sessions(sessions, self.id, self.ttl):
                _mount, session = held[index]
                logger.info(
                    "session %s is owned by another worker since Redis came back: it ends here",
                    session.tag,
                )
                session.expire()
        except BackendAway:
            pass

    def _backend_is_there(self, now: float) -> bool:
        """Whether the backend answers; when it answers again, this worker's sessions are
        claimed at the next refresh, and others' claims wait (:data:`REGISTER_WINDOW`)."""
        if not self.backend.available():
            self._backend_was_there = False
            return False
        if not self._backend_was_there:
            self._backend_was_there = True
            self._back_since = now
            self._next_refresh = 0.0
            self._awaited = self._workers - {self.id}
        return True

    def _owner_after_an_outage(self, mount: str, session_id: str) -> str | None:
        """Right after the backend answers again, a session nobody owns may be another
        worker's that has not claimed it again yet: wait until it has, or until every worker
        that was there before has registered again (within the window), then claim."""
        while True:
            owner = self.owner(mount, session_id, claim=False)
            if owner is not None or clock() >= self._back_since + REGISTER_WINDOW:
                break
            if self._awaited:
                self._awaited -= self.backend.registered_workers()
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
            if not self._backend_is_there(clock()):
                raise BackendAway()
            # Owning a session means answering requests forwarded to our inbox, and
            # forwarding one means reading the answer there: both need the inbox open.
            if not self.backend.inbox_ready(self.inbox, SUBSCRIBE_WAIT):
                raise BackendAway()
            if target.receiving and clock() < self._back_since + REGISTER_WINDOW:
                owner = self._owner_after_an_outage(match.mount, target.session_id)
            else:
                owner = self.owner(match.mount, target.session_id, claim=target.receiving)
        except BackendAway:
            # Nothing can say who owns it. A send, or a request for a session known to be
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
        forward = messages.Forward.of(request, token=token, reply_to=self.inbox, mount=match.mount)
        owner_inbox = self.inbox_of(owner)
        self.stats["forwarded"] += 1
        # Nobody on the owner's inbox (it died, its claim not yet expired): 503 now, not after
        # FORWARD_TIMEOUT.
        if not self._post(owner_inbox, forward, heard=True):
            self._forget(token)
            return respond(start_response, plain_text(503, UNREACHABLE))
        try:
            reply = replies.get(timeout=FORWARD_TIMEOUT)
            while reply is GONE:  # the client left before the answer: wait for it all the same
                reply = replies.get(timeout=FORWARD_TIMEOUT)
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
        if isinstance(reply, messages.Response):
            self._forget(token)
            return respond(start_response, Response(reply.status, reply.headers, reply.body))
        assert isinstance(reply, messages.Head)
        start_response(status_line(reply.status), reply.headers)
        heartbeat = match.server.options.heartbeat_delay
        if gone.is_set():
            replies.put(GONE)  # it left while the head was on its way
        return self._relay(token, owner_inbox, reply.prelude, replies, heartbeat)

    def _forget(self, token: str) -> None:
        self._pending.pop(token, None)
        relay = self._relays.pop(token, None)
        if relay is not None:
            relay.stop()

    def _relay(
        self, token: str, owner_inbox: str, prelude: bytes, replies: Queue, heartbeat: float
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
                    reply = replies.get(timeout=heartbeat + FORWARD_TIMEOUT)
                except Empty:
                    logger.warning("the owner of a forwarded stream went silent")
                    return
                if isinstance(reply, messages.End):
                    finished = True
                    return
                if reply is GONE:
                    return
                if isinstance(reply, messages.Chunk):
                    yield reply.data
        finally:
            self._forget(token)
            if not finished:
                self._post(owner_inbox, messages.Abort(token))

    # -- the owner ------------------------------------------------------------------------------

    def _on_message(self, data: bytes) -> None:
        try:
            message = messages.decode(data)
        except messages.MalformedMessage:
            logger.warning(
                "worker %s: not a forwarding message in its inbox: %r", self.id, data[:80]
            )
            return
        if isinstance(message, messages.Forward):
            gevent.spawn(self._serve_forwarded, message)
        elif isinstance(message, messages.Abort):
            served = self._served.get(message.token)
            if served is not None:
                aborted, wake = served
                aborted.set()
                wake()
        elif isinstance(message, messages.AliveQuestion):
            relay = self._relays.get(message.token)
            alive = relay is not None and relay.alive()
            self._post(message.reply_to, messages.AliveAnswer(message.question, alive))
        elif isinstance(message, messages.AliveAnswer):
            question = self._questions.get(message.question)
            if question is not None:
                question.set(message.alive)
        else:
            replies = self._pending.get(message.token)
            if replies is not None:
                replies.put(message)

    def _serve_forwarded(self, forward: messages.Forward) -> None:
        self.stats["served_for_others"] += 1
        token, reply_to, fields = forward.token, forward.reply_to, forward.fields
        match = self.services.match(fields["prefix"] + fields["path"])
        if match is None or match.mount != forward.mount or match.prefix != fields["prefix"]:
            self._post(reply_to, messages.Response(token, 404, [], b"Not found."))
            return
        result = match.server.handle(forward.request(match.url_kwargs), clock())
        if not isinstance(result, Stream):
            if not isinstance(result, Response):
                result = plain_text(400, "Not a valid websocket request.")
            answer = messages.Response(token, result.status, result.headers, result.body)
            self._post(reply_to, answer)
            return
        receiver = result.receiver
        wakeup, aborted = Event(), Event()
        receiver.wake = wakeup.set
        # Whether the client is still there, a later request of the session asks the worker
        # that relays this stream: it holds the client's socket.
        receiver.alive = lambda: self._ask_alive(reply_to, token)
        self._served[token] = (aborted, wakeup.set)
        head = messages.Head(token, result.status, result.headers, result.prelude)
        try:
            # Each chunk (a heartbeat at least) must reach a listener: a relaying worker that
            # died (SIGKILL, OOM) sends no abort, and its receiver would hold the session
            # open with nobody at the other end.
            if not self._post(reply_to, head, heard=True):
                receiver.abort(clock())
                return
            for chunk in frames(receiver, wakeup, aborted):
                if not self._post(reply_to, messages.Chunk(token, _bytes(chunk)), heard=True):
                    receiver.abort(clock())
                    return
            self._post(reply_to, messages.End(token))
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
            asked = messages.AliveQuestion(token, question, self.inbox)
            if not self._post(relay_inbox, asked, heard=True):
                # The backend is away: the receiver stays until it ends by itself. It is
                # there but nobody listens: the relaying worker is gone, and its client too.
                return not self.backend.available()
            return bool(answer.get(timeout=ALIVE_TIMEOUT))
        except gevent.Timeout:
            return False
        finally:
            del self._questions[question]

    def _post(self, inbox: str, message: messages.Message, *, heard: bool = False) -> bool:
        """Post one message; False if the backend is away, or if nobody listens on ``inbox``
        and it had to be ``heard``."""
        return self.backend.post(inbox, messages.encode(message), heard=heard)


GONE = object()
"""Put in a relay's reply queue when its client goes away."""


def _session(mount: str, session_id: str) -> str:
    """How the backend names a session of the service mounted at ``mount``."""
    return "%s:%s" % (mount, session_id)


class _QueueWaker:
    """Lets the disconnect watcher wake a relay that waits on its reply queue."""

    def __init__(self, replies: Queue) -> None:
        self._replies = replies

    def set(self) -> None:
        self._replies.put(GONE)


def _bytes(chunk: str | bytes) -> bytes:
    return chunk if isinstance(chunk, bytes) else chunk.encode("utf-8")
