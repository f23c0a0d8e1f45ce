"""One websocket session's I/O, in the greenlet gevent-websocket gave it, and no other.

gevent-websocket does the handshake; from then on the socket is ours. That greenlet reads
what the socket has, in bulk, and the sans-I/O :class:`~..sockjs_protocol.websocket_framing.
FrameReader` turns it into messages, checking every limit on a frame's header before keeping
a byte of its payload. Frames go out at once from whichever greenlet sends them, when the
socket takes them without waiting (:class:`WebSocketWriter`); frames that cannot go at once,
heartbeats, pongs and the close frame are written by a short-lived greenlet started when there
is something to write and gone when there is not. An idle connection costs one greenlet and
one timer.

Memory: the socket is read directly, not through the buffered reader pywsgi made for the
request's head. That reader's ``read1`` allocates the whole size asked for (64 KiB) before it
waits, so every idle websocket held 64 KiB while it waited; ``socket.recv`` waits first and
allocates only once data is there. The reader is closed once the handshake is done, which
frees its 8 KiB buffer (what it held beyond the request's head is read first).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import gevent

from ..sockjs_protocol import (
    BrokenJSON,
    Request,
    ShuttingDown,
    SockJSServer,
    TooManyFromAddress,
    TooManySessions,
)
from ..sockjs_protocol.frames import RecentByIdentity
from ..sockjs_protocol.receiver import Receiver
from ..sockjs_protocol.websocket_framing import (
    Close,
    Fail,
    FrameReader,
    Message,
    Ping,
    Pong,
    close_frame,
    ping_frame,
    pong_frame,
    text_frame,
)
from .http import clock, no_delay, nothing

logger = logging.getLogger("clientsignal.websocket")

READ_SIZE = 65536
"""Bytes asked of the socket at once: what a client sent since the last read, in one call
(allocated only once the socket is readable: see :func:`release_reader`)."""

BROKEN_FRAMING = (1002, "Broken framing.")

frame_bytes = RecentByIdentity(text_frame, 64)
""":func:`text_frame` of a frame's text, built once for the same str object while recent."""


class WriteTimeout(OSError):
    """A peer that stopped reading held a write for too long."""


def release_reader(handler: Any) -> bytes:
    """Close the buffered reader pywsgi read the handshake with (freeing its 8 KiB buffer),
    and return what it held beyond the request's head: from then on the socket is read
    directly. A request that declared a body keeps its reader, which pywsgi reads the rest
    of that body from once the application returns. The handler's parsed head is dropped."""
    rfile = handler.rfile
    sock = handler.socket
    timeout = sock.gettimeout()
    sock.settimeout(0.0)  # what is buffered, else what the socket has, without waiting
    try:
        held = rfile.read1(READ_SIZE)
    except OSError:
        held = b""
    finally:
        sock.settimeout(timeout)
    environ = getattr(handler, "environ", None) or {}
    declared = environ.get("CONTENT_LENGTH") or environ.get("HTTP_TRANSFER_ENCODING")
    if not declared:
        rfile.close()  # the socket stays open: only this reader of it is closed
    # The parsed head (an email.message.Message, 1.3 KiB): read while the request was parsed,
    # never after the handshake (the core Request has the headers); the class's empty one
    # stands in for it.
    handler.__dict__.pop("headers", None)
    return bytes(held or b"")


class WebSocketWriter:
    """Writes one websocket's frames: at once from any greenlet when the socket takes them
    (:meth:`write_now`, the receiver's hook), else from the session's own greenlet, waiting
    at most ``patience`` seconds for a client that does not read (:meth:`write`).

    A frame's bytes are the same for every client (server frames are not masked) and the
    core hands every session the same frame object for a broadcast, so a broadcast is encoded
    once down to the bytes on the wire, then written with one send per socket.
    """

    __slots__ = ("socket", "patience", "busy", "closed", "pending", "pong", "wake")

    def __init__(self, sock: Any, patience: float) -> None:
        self.socket = sock
        no_delay(sock)
        self.patience = patience
        self.busy = False
        self.closed = False
        self.pending = b""  # the rest of a frame that write_now could not finish
        self.pong = b""  # the pong to the latest ping, written before the next frame
        self.wake: Callable[[], None] = nothing

    def write_now(self, text: str) -> bool:
        """Write ``text`` unless something else is being written, without waiting: True if
        it went out, or if its rest is left for the writer greenlet to send first."""
        if self.busy or self.closed or self.pong:
            return False
        data = frame_bytes(text)
        try:
            sent = self._send_without_waiting(data)
        except OSError:  # a dead peer: queued instead, the writer greenlet meets the error
            return False
        if not sent:
            return False
        if sent < len(data):
            self.pending = data[sent:]
            self.busy = True
            self.wake()
        return True

    def write(self, text: str) -> None:
        """Write ``text`` from the session's greenlet, which holds ``busy`` for as long as it
        writes; raises OSError."""
        self.write_bytes(frame_bytes(text))

    def write_bytes(self, data: bytes) -> None:
        """Write a whole frame from the session's greenlet; raises OSError."""
        self.flush()
        sent = self._send_without_waiting(data)
        if sent < len(data):
            self._sendall(data[sent:])

    def flush(self) -> None:
        """Finish the frame :meth:`write_now` started, if any, then the pong that is due."""
        if self.pending:
            pending, self.pending = self.pending, b""
            self._sendall(pending)
        if self.pong:
            pong, self.pong = self.pong, b""
            self._sendall(pong)

    def _send_without_waiting(self, data: bytes) -> int:
        """Bytes the socket took at once (timeout 0); 0 when its buffer is full."""
        try:
            return int(self.socket.send(data, 0, 0.0))
        except BlockingIOError:
            return 0

    def _sendall(self, data: bytes) -> None:
        # A peer that stopped reading cannot hold the session's greenlet forever.
        with gevent.Timeout(self.patience, WriteTimeout("write timed out")):
            self.socket.sendall(data)


def close_websocket(websocket: Any, code: int, reason: str) -> None:
    """Send a close frame with ``code`` and ``reason`` on a websocket gevent-websocket has
    opened, once, and mark it closed so that gevent-websocket sends none of its own."""
    if websocket.closed:
        return
    websocket.closed = True
    with gevent.Timeout(1, False):  # a dead peer may not take even the close frame
        try:
            websocket.handler.socket.sendall(close_frame(code, reason))
        except OSError:
            pass


class _Finished(Exception):
    """Thrown into the reading greenlet once the session's last frame is out."""


class WebSocketSession:
    """Runs one SockJS (or raw) websocket session until either side ends it."""

    __slots__ = (
        "server", "websocket", "socket", "receiver", "session", "patience", "last_seen",
        "writer", "drainer", "reader", "receiving", "finished", "close_with", "_timer",
    )  # fmt: skip

    def __init__(self, server: SockJSServer, websocket: Any, receiver: Receiver) -> None:
        self.server = server
        self.websocket = websocket
        self.socket = websocket.handler.socket
        self.receiver = receiver
        self.session = receiver.session
        # Liveness: any frame from the client, or a pong to the ping sent with each heartbeat.
        self.patience = 2 * server.options.heartbeat_delay
        self.last_seen = clock()
        self.writer = WebSocketWriter(websocket.handler.socket, self.patience)
        self.writer.wake = self.wake
        self.drainer: gevent.Greenlet | None = None
        self.reader = gevent.getcurrent()
        self.receiving = False  # the reader waits for data, where it may be interrupted
        self.finished = False
        self.close_with: tuple[int | None, str] | None = None  # the websocket close frame
        self._timer: Any = None  # the event loop's timer for the next heartbeat

    def run(self) -> None:
        receiver = self.receiver
        receiver.wake = self.wake
        receiver.write_now = self.writer.write_now
        try:
            # The open frame, written by this greenlet rather than one spawned for it (``drainer``
            # set: a frame queued meanwhile waits for this loop, which writes it too). A greenlet
            # spawned here would, with gevent's greenlet tree tracking on (its default), record
            # its spawning stack and so give ten frames of this one a frame object each, kept
            # for the life of the connection (2 KiB).
            self.drainer = gevent.getcurrent()
            self._drain()
            self._read()
        finally:
            receiver.wake = nothing
            receiver.write_now = None
            drainer = self.drainer
            if drainer is not None and drainer is not gevent.getcurrent():
                # Let it write the session's close frame (a refusal, an error, a rate limit),
                # for a second at most: a dead peer takes nothing.
                drainer.join(timeout=1)
                drainer.kill(block=True, timeout=1)
            self._arm(None)  # after the drainer, which may have armed it
            self.server.websocket_closed(self.session)
            self._close()

    # -- reading (this greenlet) -------------------------------------------------------------

    def _read(self) -> None:
        reader = FrameReader(max_message_size=self.server.options.max_message_size)
        counted = 0
        recv = self.socket.recv
        try:
            data = release_reader(self.websocket.handler)
            while not self.finished:
                if not data:
                    self.receiving = True
                    data = recv(READ_SIZE)
                    self.receiving = False
                    if not data:
                        return
                now = self.last_seen = clock()
                events = reader.feed(data)
                # Every frame counts against the message rate, empty and control ones too:
                # a flood of tiny frames costs the server more than its bytes suggest.
                frames, counted = reader.frames_read - counted, reader.frames_read
                if frames and not self.session.spend(now, frames):
                    return
                for event in events:
                    if not self._handle(event):
                        return
                data = b""
                # One client sending without pause cannot hold the worker: others run now.
                gevent.sleep(0)
        except (OSError, _Finished):
            pass
        finally:
            self.receiving = False
            if not self.finished and not self.session.is_closed:
                self.receiver.abort(clock())  # the client went away: interrupted (1002)

    def _handle(self, event: object) -> bool:
        """One event from the client; False once reading is over."""
        session = self.session
        if isinstance(event, Message):
            data = event.data
            try:
                if isinstance(data, bytes):
                    data = data.decode("utf-8")
                self.server.websocket_message(session, data, clock())
            except (BrokenJSON, UnicodeDecodeError):
                logger.info("websocket %s: broken JSON, closing", session.tag)
                self.close_with = BROKEN_FRAMING
                self.receiver.abort(clock())
                self.wake()
                return False
            return True
        if isinstance(event, Ping):
            self.writer.pong = pong_frame(event.payload)
            self.wake()
            return True
        if isinstance(event, Pong):
            return True  # last_seen is updated for every read
        if isinstance(event, Close):
            # The client closes (a tab closed, sock.close()): answer with its code, as RFC 6455
            # asks; the session ends with that code, calmly, not as interrupted (1002).
            self.close_with = (event.code or 1000, "")
            self.receiver.closed_by_client(event.code or 1000, clock())
            return False
        assert isinstance(event, Fail)
        logger.info("websocket %s: %s: closing (%d)", session.tag, event.reason, event.code)
        self.close_with = (event.code, event.reason)
        session.close(event.code, event.reason)  # the SockJS close frame says it too
        return False

    # -- writing (a greenlet while there is something to write) ------------------------------

    def wake(self) -> None:
        """Something is queued (or due): make sure a greenlet is writing it."""
        if self.drainer is None and not self.finished:
            self.drainer = gevent.spawn(self._drain)

    def _drain(self) -> None:
        receiver, writer = self.receiver, self.writer
        try:
            while True:
                # Busy before the first byte and until the last: a frame write_now sent
                # from another greenlet while this one waits for room would land inside
                # the frame being written.
                writer.busy = True
                writer.flush()
                pull = receiver.pull(clock())
                for frame in pull.chunks:
                    assert isinstance(frame, str)
                    writer.write(frame)
                    if frame == "h" and not self.session.raw and not self._ping():
                        receiver.abort(clock())
                        pull.done = True
                        break
                writer.busy = False
                if pull.done:
                    self._finish()
                    return
                if not self.session.queue and not writer.pending and not writer.pong:
                    self._arm(pull.deadline)
                    return
        except OSError as error:
            logger.info("websocket %s: %s", self.session.tag, error)
            receiver.abort(clock())
            self._finish()
        finally:
            self.drainer = None

    def _ping(self) -> bool:
        """With each heartbeat: a ping, once the client was last heard in time."""
        if clock() - self.last_seen > self.patience:
            logger.info(
                "websocket %s: no pong for %.0f s, closing", self.session.tag, self.patience
            )
            return False
        self.writer.write_bytes(ping_frame())
        return True

    def _arm(self, deadline: float | None) -> None:
        """Wake at the receiver's next deadline (its heartbeat); None: not at all."""
        if self._timer is not None:
            self._timer.stop()
            self._timer.close()
            self._timer = None
        if deadline is not None:
            self._timer = gevent.get_hub().loop.timer(max(0.0, deadline - clock()))
            self._timer.start(self.wake)

    def _finish(self) -> None:
        """The session's last frame is out: stop reading. The session is closed, so no
        application code can run in the reader any more; it is interrupted only while it
        waits for data, else it stops after the data at hand."""
        self.finished = True
        self.writer.busy = True
        if self.receiving and self.reader is not gevent.getcurrent():
            gevent.kill(self.reader, _Finished)  # asynchronous: at its next switch

    def _close(self) -> None:
        """The websocket close frame: the client's own code when it closed, the error's when
        its frames broke a rule, a raw session's close code, else 1000."""
        session = self.session
        if self.close_with is not None:
            code, reason = self.close_with
        elif session.raw and session.is_closed:
            code, reason = session.close_code, session.close_reason
        else:
            code, reason = 1000, ""
        self.writer.closed = True
        close_websocket(self.websocket, code or 1000, reason)


def run_websocket(server: SockJSServer, request: Request, websocket: Any, *, raw: bool) -> None:
    """Serve one websocket session (SockJS framing, or raw) until it ends."""
    try:
        receiver = server.open_websocket(request, clock(), raw=raw)
    except TooManySessions:
        close_websocket(websocket, 1013, "Try again later")
        return
    except TooManyFromAddress:
        close_websocket(websocket, 4429, "Too many sessions from this address")
        return
    except ShuttingDown:
        close_websocket(websocket, 1001, "Server shutting down")
        return
    WebSocketSession(server, websocket, receiver).run()
