"""One websocket session's I/O, in the greenlet gevent-websocket gave it, and no other.

That greenlet reads: each client message goes into the session. Frames go out at once from
whichever greenlet sends them, when the socket takes them without waiting
(:class:`WebSocketWriter`); frames that cannot go at once, heartbeats and the close frame are
written by a short-lived greenlet started when there is something to write and gone when
there is not. An idle connection costs one greenlet and one timer.
"""

from __future__ import annotations

import codecs
import logging
import struct
from collections.abc import Callable
from typing import Any

import gevent
from geventwebsocket.exceptions import ProtocolError, WebSocketError
from geventwebsocket.websocket import Header, WebSocket

from ..sockjs_protocol import (
    BrokenJSON,
    Request,
    SockJSServer,
    TooManyFromAddress,
    TooManySessions,
)
from ..sockjs_protocol.frames import RecentByIdentity
from ..sockjs_protocol.receiver import Receiver
from .http import clock, no_delay, nothing

logger = logging.getLogger("clientsignal.websocket")


def text_frame(text: str) -> bytes:
    """One unmasked websocket text frame (RFC 6455 5.2), as a server sends it."""
    payload = text.encode("utf-8", "surrogatepass")
    size = len(payload)
    if size < 126:
        return bytes((0x81, size)) + payload
    if size < 65536:
        return struct.pack("!BBH", 0x81, 126, size) + payload
    return struct.pack("!BBQ", 0x81, 127, size) + payload


frame_bytes = RecentByIdentity(text_frame, 64)
""":func:`text_frame` of a frame's text, built once for the same str object while recent."""


class WebSocketWriter:
    """Writes one websocket's frames: at once from any greenlet when the socket takes them
    (:meth:`write_now`, the receiver's hook), else from the session's own greenlet, waiting
    at most ``patience`` seconds for a client that does not read (:meth:`write`).

    A frame's bytes are the same for every client (server frames are not masked) and the
    core hands every session the same frame object for a broadcast, so a broadcast is encoded
    once down to the bytes on the wire, then written with one send per socket.
    """

    def __init__(self, websocket: Any, patience: float) -> None:
        self.websocket = websocket
        # gevent-websocket writes with this socket's sendall; so do we, with our own frames.
        self.socket = websocket.handler.socket
        no_delay(self.socket)
        self.patience = patience
        self.busy = False
        self.pending = b""  # the rest of a frame that write_now could not finish
        self.wake: Callable[[], None] = nothing

    def write_now(self, text: str) -> bool:
        """Write ``text`` unless something else is being written, without waiting: True if
        it went out, or if its rest is left for the writer greenlet to send first."""
        if self.busy or self.websocket.closed:
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
        """Write ``text`` from the session's greenlet; raises WebSocketError or OSError."""
        self.flush()
        data = frame_bytes(text)
        sent = self._send_without_waiting(data)
        if sent < len(data):
            self._sendall(data[sent:])

    def flush(self) -> None:
        """Finish the frame :meth:`write_now` started, if any."""
        if self.pending:
            pending, self.pending = self.pending, b""
            self._sendall(pending)
        self.busy = False

    def _send_without_waiting(self, data: bytes) -> int:
        """Bytes the socket took at once (timeout 0); 0 when its buffer is full."""
        try:
            return int(self.socket.send(data, 0, 0.0))
        except BlockingIOError:
            return 0

    def _sendall(self, data: bytes) -> None:
        # A peer that stopped reading cannot hold the session's greenlet forever.
        with gevent.Timeout(self.patience, WebSocketError("write timed out")):
            self.socket.sendall(data)


def unmask(payload: bytes, mask: bytes) -> bytes:
    """A client frame's payload XOR its 4-byte mask, a whole integer at a time."""
    size = len(payload)
    key = (mask * (size // 4 + 1))[:size]
    return (int.from_bytes(payload, "little") ^ int.from_bytes(key, "little")).to_bytes(
        size, "little"
    )


class Utf8Validator:
    """gevent-websocket's UTF-8 validator interface over Python's incremental decoder: the
    same answers, at C speed instead of a Python loop per byte."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self._failed: tuple[bool, bool, int, int] | None = None

    def reset(self) -> None:
        self._decoder.reset()
        self._failed = None

    def validate(self, payload: bytes) -> tuple[bool, bool, int, int]:
        if self._failed is not None:  # invalid stays invalid until reset
            return self._failed
        try:
            self._decoder.decode(bytes(payload))
        except UnicodeDecodeError as error:
            self._failed = (False, False, error.start, error.start)
            return self._failed
        return True, True, len(payload), len(payload)


# When each open websocket last answered a ping, by id(); gevent-websocket drops pongs.
_pongs: dict[int, float] = {}


class ServerWebSocket(WebSocket):
    """gevent-websocket's WebSocket as the middleware uses it: it notes pongs (for the
    liveness check) and unmasks and validates client frames without a Python loop per byte.
    Its instances take no new attributes: an instance is adopted by changing its class."""

    __slots__ = ()

    @classmethod
    def adopt(cls, websocket: WebSocket) -> None:
        websocket.__class__ = cls
        websocket.utf8validator = Utf8Validator()

    def handle_pong(self, header: Any, payload: bytes) -> None:
        _pongs[id(self)] = clock()

    def read_frame(self) -> tuple[Header, bytes]:
        header = Header.decode_header(self.stream)
        if header.flags:
            raise ProtocolError("reserved bits set: no extension was negotiated")
        if not header.length:
            return header, b""
        try:
            payload = self.raw_read(header.length)
        except OSError:
            payload = b""
        if len(payload) != header.length:
            raise WebSocketError("Unexpected EOF reading frame payload")
        if header.mask:
            payload = unmask(payload, header.mask)
        return header, payload


def close_websocket(websocket: Any, code: int, reason: str) -> None:
    """Send a close frame with ``code`` and ``reason``, once.

    gevent-websocket 0.10's ``close(code, message)`` drops the code from the frame, so the
    frame is written here and the socket marked closed as its ``close()`` would."""
    if websocket.closed:
        return
    try:
        payload = struct.pack("!H", code) + reason.encode("utf-8")[:123]
        websocket.send_frame(payload, websocket.OPCODE_CLOSE)
    except (WebSocketError, OSError):
        pass
    websocket.closed = True
    websocket.stream = None
    websocket.raw_write = None
    websocket.raw_read = None


class _Finished(Exception):
    """Thrown into the reading greenlet once the session's last frame is out."""


class WebSocketSession:
    """Runs one SockJS (or raw) websocket session until either side ends it."""

    def __init__(
        self, server: SockJSServer, request: Request, websocket: Any, receiver: Receiver
    ) -> None:
        self.server = server
        self.request = request
        self.websocket = websocket
        self.receiver = receiver
        self.session = receiver.session
        # Liveness: any frame from the client, or a pong to the ping sent with each heartbeat.
        self.patience = 2 * server.options.heartbeat_delay
        self.last_seen = clock()
        self.writer = WebSocketWriter(websocket, self.patience)
        self.writer.wake = self.wake
        self.drainer: gevent.Greenlet | None = None
        self.reader = gevent.getcurrent()
        self.receiving = False  # the reader waits in receive(), where it may be interrupted
        self.finished = False
        self.broken = False
        self._timer: Any = None  # the event loop's timer for the next heartbeat

    def run(self) -> None:
        receiver = self.receiver
        receiver.wake = self.wake
        receiver.write_now = self.writer.write_now
        try:
            self.wake()  # the open frame
            self._read()
        finally:
            receiver.wake = nothing
            receiver.write_now = None
            self._arm(None)
            drainer = self.drainer
            if drainer is not None and drainer is not gevent.getcurrent():
                drainer.kill(block=True, timeout=1)
            _pongs.pop(id(self.websocket), None)
            self.server.websocket_closed(self.session)
            self._close()

    # -- reading (this greenlet) -------------------------------------------------------------

    def _read(self) -> None:
        session, server, websocket = self.session, self.server, self.websocket
        try:
            while not self.finished:
                self.receiving = True
                data = websocket.receive()
                self.receiving = False
                if data is None:
                    return
                self.last_seen = clock()
                if isinstance(data, (bytes, bytearray)):
                    data = bytes(data).decode("utf-8")
                server.websocket_message(session, data)
        except (BrokenJSON, UnicodeDecodeError):
            logger.info("websocket %s: broken JSON, closing", self.session.tag)
            self.broken = True
        except (WebSocketError, OSError, _Finished):
            pass
        finally:
            if not self.finished:
                self.receiver.abort(clock())  # the client went away: interrupted (1002)

    # -- writing (a greenlet while there is something to write) ------------------------------

    def wake(self) -> None:
        """Something is queued (or due): make sure a greenlet is writing it."""
        if self.drainer is None and not self.finished:
            self.drainer = gevent.spawn(self._drain)

    def _drain(self) -> None:
        receiver, writer = self.receiver, self.writer
        try:
            while True:
                writer.flush()
                writer.busy = True
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
                if not self.session.queue and not writer.pending:
                    self._arm(pull.deadline)
                    return
        except (WebSocketError, OSError) as error:
            logger.info("websocket %s: %s", self.session.tag, error)
            receiver.abort(clock())
            self._finish()
        finally:
            self.drainer = None

    def _ping(self) -> bool:
        """With each heartbeat: a ping, once the last one was answered in time."""
        seen = max(self.last_seen, _pongs.get(id(self.websocket), 0.0))
        if clock() - seen > self.patience:
            logger.info(
                "websocket %s: no pong for %.0f s, closing", self.session.tag, self.patience
            )
            return False
        self.websocket.send_frame(b"", self.websocket.OPCODE_PING)
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
        waits in receive(), else it stops after the message at hand."""
        self.finished = True
        self.writer.busy = True
        if self.receiving and self.reader is not gevent.getcurrent():
            gevent.kill(self.reader, _Finished)  # asynchronous: at its next switch

    def _close(self) -> None:
        session, websocket = self.session, self.websocket
        with gevent.Timeout(1, False):  # a dead peer may not take even the close frame
            if session.raw and session.is_closed:
                close_websocket(websocket, session.close_code, session.close_reason)
            elif self.broken:
                close_websocket(websocket, 1002, "Broken framing.")
            else:
                close_websocket(websocket, 1000, "")


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
    if type(websocket) is WebSocket:
        ServerWebSocket.adopt(websocket)
    WebSocketSession(server, request, websocket, receiver).run()
