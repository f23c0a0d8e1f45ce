"""Session state: the outgoing queue, the one attached receiver, closing and expiry.

A session knows nothing of sockets or clocks: callers pass ``now`` and act on the deadlines it
reports. The I/O layer gives each attached receiver a ``wake`` callback that the session calls
when frames become available.
"""

from __future__ import annotations

import enum
import itertools
import json
import logging
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from . import frames
from .ratelimit import TokenBucket
from .stats import Counters

if TYPE_CHECKING:
    from .connection import SockJSConnection
    from .limits import Quotas
    from .receiver import Receiver
    from .server import SockJSServer

logger = logging.getLogger("clientsignal.sockjs")

INTERRUPTED = (1002, "Connection interrupted")
ANOTHER_CONNECTION = (2010, "Another connection still open")
GO_AWAY = (3000, "Go away!")
SERVER_ERROR = (1011, "Internal error")
MESSAGE_TOO_BIG = (1009, "Message too big")
SLOW_CONSUMER = (4008, "Client too slow: send queue full")
GOING_AWAY = (1001, "Server shutting down")
TOO_MANY_MESSAGES = (4429, "Too many messages")

# Sessions are named in logs by a number of this process, never by their id: whoever knows
# an HTTP session's id (and its credential) can act as its client.
_numbers = itertools.count(1)


class State(enum.Enum):
    OPEN = "open"
    CLOSED = "closed"


class Session:
    """One SockJS session.

    ``raw`` sessions (the raw ``/websocket`` endpoint) queue plain messages instead of encoded
    ones and have no open frame. Slotted: one lives as long as each connection.
    """

    __slots__ = (
        "id", "number", "prefix", "address", "credential", "bucket", "quotas", "server",
        "quota_places", "counters", "max_message_size", "max_queued_bytes", "queued_bytes",
        "transport", "raw", "disconnect_delay", "state", "connection", "queue", "receiver",
        "detached_since", "close_code", "close_reason", "_open_pending", "_closed_notified",
        "rejected", "_pending_open", "opening_message",
    )  # fmt: skip

    def __init__(
        self,
        session_id: str,
        *,
        transport: str,
        disconnect_delay: float,
        now: float,
        raw: bool = False,
        max_message_size: int = 64 * 1024,
        max_queued_bytes: int = 1024 * 1024,
        counters: Counters | None = None,
        prefix: str = "",
        address: str = "",
        bucket: TokenBucket | None = None,
    ) -> None:
        self.id = session_id
        self.number = next(_numbers)
        self.prefix = prefix
        self.address = address
        self.credential: str | None = None  # see .binding
        self.bucket = bucket
        self.quotas: Quotas | None = None
        self.server: SockJSServer | None = None  # the service the session belongs to
        self.quota_places: list[tuple[str, str]] = []
        self.counters = counters if counters is not None else Counters()
        self.counters.sessions_opened += 1
        self.max_message_size = max_message_size
        self.max_queued_bytes = max_queued_bytes
        self.queued_bytes = 0
        self.transport = transport
        self.raw = raw
        self.disconnect_delay = disconnect_delay
        self.state = State.OPEN
        self.connection: SockJSConnection | None = None
        self.queue: list[str] = []
        self.receiver: Receiver | None = None
        self.detached_since: float | None = now
        self.close_code, self.close_reason = GO_AWAY
        self._open_pending = not raw
        self._closed_notified = False
        self.rejected = False
        self._pending_open: Callable[[str], None] | None = None
        self.opening_message: str | None = None
        """While the connection opens with its client's first message: that message."""

    def __repr__(self) -> str:
        return "<Session #%d %s %s>" % (self.number, self.transport, self.state.value)

    @property
    def tag(self) -> str:
        """How logs name the session: its number, transport, prefix and client address."""
        return "#%d (%s %s from %s)" % (
            self.number,
            self.transport,
            self.prefix or "/",
            self.address or "?",
        )

    @property
    def is_closed(self) -> bool:
        return self.state is State.CLOSED

    # -- application side ----------------------------------------------------------------

    def open(self, connection: SockJSConnection, call: Callable[[], None]) -> None:
        """Bind the application connection and run its ``on_open`` (``call``) safely.

        A session its ``on_open`` rejected (:meth:`reject`) never looks open to the client: it
        gets the close frame without the open frame, and nothing queued meanwhile. One that
        ``on_open`` closes opens, then closes, as the protocol has it."""
        self.connection = connection
        if not self._safely("on_open", call):
            self.close(*SERVER_ERROR)
        elif not self.is_closed and not self._safely("after_open", connection.after_open):
            self.close(*SERVER_ERROR)
        if self.rejected:
            self._open_pending = False
            self.queue, self.queued_bytes = [], 0

    def open_with_message(self, connection: SockJSConnection, call: Callable[[str], None]) -> None:
        """Bind the application connection now and run its ``on_open`` (``call(message)``)
        when the client's first message arrives (see
        :meth:`~.connection.SockJSConnection.opens_with_message`). Until then the client's
        session is open, and the application knows nothing of it: closed meanwhile, its
        ``on_close`` is not called."""
        self.connection = connection
        self._pending_open = call

    def reject(self, code: int, reason: str) -> None:
        """Close the session from its connection's ``on_open``, before it ever opened: the
        client sees ``c[code,"reason"]`` without ``o`` (like a 2010 refusal), so a client
        library reports a close without an open."""
        if not self.is_closed:
            self.rejected = True
            self.close(code, reason)

    def send(self, message: str | None, encoded: str | None = None) -> bool:
        """Queue one message, given as text or already encoded (or both); False if the
        session is closed."""
        if self.state is State.CLOSED:
            return False
        if self.raw:
            item = message if message is not None else json.loads(encoded or '""')
        else:
            item = encoded if encoded is not None else frames.encode_message(message or "")
        self.queued_bytes += len(item)
        self.counters.messages_out += 1
        self.counters.bytes_out += len(item)
        if self.queued_bytes > self.max_queued_bytes:
            # A client that does not read: drop what it has not taken and close, rather than
            # let its queue grow without bound.
            logger.warning(
                "session %s: %d bytes queued, over the limit: closing (%s)",
                self.tag,
                self.queued_bytes,
                SLOW_CONSUMER[1],
            )
            self.queue, self.queued_bytes = [], 0
            self.close(*SLOW_CONSUMER)
            return False
        receiver = self.receiver
        if (
            not self.queue
            and receiver is not None
            and receiver.write_now is not None
            and not self._open_pending
            and receiver.write_now(item if self.raw else frames.single_message_frame(item))
        ):
            # Written at once: nothing queued, nobody to wake.
            self.queued_bytes -= len(item)
            return True
        self.queue.append(item)
        self._wake()
        return True

    def close(self, code: int = GO_AWAY[0], reason: str = GO_AWAY[1]) -> None:
        """Close the session: receivers get the close frame until the session expires."""
        if self.state is State.CLOSED:
            return
        self.state = State.CLOSED
        self.close_code, self.close_reason = code, reason
        if self.quotas is not None:
            self.quotas.release(self)
        self._notify_closed()
        self._wake()

    def spend(self, now: float, cost: int = 1) -> bool:
        """Charge ``cost`` messages or frames to the session's rate; past it, the session is
        closed with 4429 and False returned."""
        if self.bucket is None or self.bucket.take(now, cost):
            return True
        if not self.is_closed:
            self.counters.rate_limited += 1
            logger.info("session %s: over its message rate: closing (4429)", self.tag)
            self.close(*TOO_MANY_MESSAGES)
        return False

    def receive(self, messages: list[str]) -> None:
        """Deliver client messages to the application, in order."""
        if self.state is State.CLOSED or self.connection is None:
            return
        on_message = self.connection.on_message
        for message in messages:
            self.counters.messages_in += 1
            self.counters.bytes_in += len(message)
            if len(message) * 4 > self.max_message_size and (
                len(message.encode("utf-8", "surrogatepass")) > self.max_message_size
            ):
                logger.warning(
                    "session %s: a %d-character message is over the %d-byte limit: closing (%s)",
                    self.tag,
                    len(message),
                    self.max_message_size,
                    MESSAGE_TOO_BIG[1],
                )
                self.close(*MESSAGE_TOO_BIG)
                return
            if self._pending_open is not None:
                self._open_with(self._pending_open, message)
                if self.is_closed:
                    return  # refused: nothing more reaches the application
                continue
            self._safely("on_message", on_message, message)

    def _open_with(self, call: Callable[[str], None], message: str) -> None:
        assert self.connection is not None
        self._pending_open, self.opening_message = None, message
        try:
            self.open(self.connection, lambda: call(message))
        finally:
            self.opening_message = None

    # -- receivers -------------------------------------------------------------------------

    def attach(self, receiver: Receiver) -> bool:
        """Attach a receiver; False if another one is attached already."""
        if self.receiver is not None:
            return False
        self.receiver = receiver
        self.detached_since = None
        return True

    def detach(self, receiver: Receiver, now: float) -> None:
        if self.receiver is receiver:
            self.receiver = None
            self.detached_since = now

    def interrupt(self) -> None:
        """The attached receiver went away mid-response: close with 1002."""
        self.close(*INTERRUPTED)

    def next_frame(self) -> str | None:
        """The next frame to deliver, or None when there is nothing to say yet.

        Order: the open frame, then queued messages (one ``a[...]`` frame), then, once closed,
        the close frame (again for every later receiver)."""
        if self._open_pending:
            self._open_pending = False
            return frames.OPEN
        if self.queue:
            queued, self.queue, self.queued_bytes = self.queue, [], 0
            return frames.message_frame(queued)
        if self.state is State.CLOSED:
            return frames.close_frame(self.close_code, self.close_reason)
        return None

    def take_raw(self) -> list[str]:
        """Raw sessions: every queued message, in order."""
        queued, self.queue, self.queued_bytes = self.queue, [], 0
        return queued

    # -- time ------------------------------------------------------------------------------

    def expires_at(self) -> float | None:
        """When the session expires if no receiver attaches before; None while attached."""
        if self.detached_since is None:
            return None
        return self.detached_since + self.disconnect_delay

    def expire(self) -> None:
        """Forget the session: closes it if still open (no receiver is there to see a frame)."""
        self.close(*INTERRUPTED)

    # -- internals -------------------------------------------------------------------------

    def _wake(self) -> None:
        if self.receiver is not None:
            self.receiver.wake()

    def _notify_closed(self) -> None:
        if self._closed_notified or self.connection is None:
            return
        self._closed_notified = True
        self.counters.sessions_closed += 1
        if self._pending_open is None:  # one still waiting to open never opened to the app
            self._safely("on_close", self.connection.on_close)

    def _safely(self, what: str, func: Callable[..., object], *args: object) -> bool:
        """Run application code (through the connection's :meth:`~.SockJSConnection.
        run_application_code`); an exception is logged with the session, never raised."""
        try:
            self.connection.run_application_code(func, *args)  # type: ignore[union-attr]
        except Exception:
            self.counters.errors += 1
            logger.exception(
                "%s.%s raised (session %s)", type(self.connection).__name__, what, self.tag
            )
            return False
        return True


class SessionStore:
    """The sessions of one service that outlive a request (every transport but websocket)."""

    def __init__(self) -> None:
        self._sessions: dict[str, Session] = {}

    def __len__(self) -> int:
        return len(self._sessions)

    def __iter__(self) -> Iterator[Session]:
        return iter(list(self._sessions.values()))

    def get(self, session_id: str) -> Session | None:
        return self._sessions.get(session_id)

    def add(self, session: Session) -> None:
        self._sessions[session.id] = session

    def remove(self, session: Session) -> None:
        if self._sessions.get(session.id) is session:
            del self._sessions[session.id]

    def expire(self, now: float) -> list[Session]:
        """Remove and close every session whose receiver has been gone too long."""
        expired = []
        for session in list(self._sessions.values()):
            deadline = session.expires_at()
            if deadline is not None and deadline <= now:
                self.remove(session)
                session.expire()
                expired.append(session)
        return expired
