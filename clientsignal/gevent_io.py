"""gevent I/O shared by the middleware and session forwarding: following a receiver,
watching for clients that go away, and WSGI plumbing."""

from __future__ import annotations

import codecs
import socket
import struct
import time
from collections.abc import Callable, Iterator
from http import HTTPStatus
from typing import Any

import gevent
from gevent.event import Event
from geventwebsocket.exceptions import ProtocolError, WebSocketError
from geventwebsocket.websocket import Header, WebSocket

from .sockjs_protocol import Request, Response
from .sockjs_protocol.frames import RecentByIdentity
from .sockjs_protocol.receiver import Receiver

clock = time.monotonic


def frames(receiver: Receiver, wakeup: Event, gone: Any) -> Iterator[Any]:
    """The chunks to write, as the receiver releases them, until it is done or the client is
    gone (``gone.is_set()``)."""
    while True:
        wakeup.clear()
        pull = receiver.pull(clock())
        yield from pull.chunks
        if pull.done:
            return
        if gone.is_set():
            receiver.abort(clock())
            return
        wakeup.wait(timeout_until(pull.deadline))


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
        self.wake: Callable[[], None] = _nothing

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
            return self.socket.send(data, 0, 0.0)
        except BlockingIOError:
            return 0

    def _sendall(self, data: bytes) -> None:
        # A peer that stopped reading cannot hold the session's greenlet forever.
        with gevent.Timeout(self.patience, WebSocketError("write timed out")):
            self.socket.sendall(data)


def _nothing() -> None:
    pass


# When each open websocket last answered a ping, by id(); gevent-websocket drops pongs.
_pongs: dict[int, float] = {}


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


class DisconnectWatch:
    """Notices a client closing its connection while a response waits for frames.

    A read watcher on the client's socket, started and stopped synchronously: it must be
    gone before the server closes the socket, or the event loop would watch a closed (and
    soon reused) file descriptor.
    """

    def __init__(self, sock: socket.socket | None, wakeup: Any) -> None:
        self._event = Event()
        self._wakeup = wakeup
        self._sock = sock
        self._io = None
        if sock is not None:
            self._io = gevent.get_hub().loop.io(sock.fileno(), 1)
            self._io.start(self._readable)

    def is_set(self) -> bool:
        return self._event.is_set()

    def alive(self) -> bool:
        """Checked now, without waiting for the event loop: False if the client has closed
        its end (its FIN may be queued before a new request from the same client)."""
        if self._event.is_set():
            return False
        if self._sock is None:
            return True
        # The OS socket under gevent's: gevent's own recv would wait for data.
        raw = getattr(self._sock, "_sock", self._sock)
        try:
            return bool(raw.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT))
        except BlockingIOError:
            return True
        except OSError:
            return False

    def stop(self) -> None:
        if self._io is not None:
            self._io.stop()
            self._io.close()
            self._io = None

    def _readable(self) -> None:
        # Runs in the event loop: readable means either more data (a pipelined request,
        # not a disconnect) or the end of the stream.
        closed = not self.alive()
        self.stop()
        if closed:
            gevent.spawn(self._notify)

    def _notify(self) -> None:
        self._event.set()
        self._wakeup.set()


def watch_disconnect(environ: dict[str, Any], wakeup: Event) -> DisconnectWatch:
    sock = client_socket(environ)
    if sock is not None:
        no_delay(sock)
    return DisconnectWatch(sock, wakeup)


def no_delay(sock: Any) -> None:
    """Send each write at once: every write is a whole frame, and Nagle's algorithm would hold
    a small one until the previous is acknowledged (up to a delayed ACK, 40 ms)."""
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except OSError:
        pass  # not TCP (a Unix socket)


def client_socket(environ: dict[str, Any]) -> socket.socket | None:
    """The client's socket under gevent's pywsgi (not part of WSGI; None elsewhere)."""
    wsgi_input = environ.get("wsgi.input")
    rfile = getattr(wsgi_input, "rfile", wsgi_input)
    sock = getattr(getattr(rfile, "raw", None), "_sock", None)
    return sock if hasattr(sock, "recv") else None


def build_request(environ: dict[str, Any], path: str, max_body: int) -> Request:
    headers = {
        key[5:].replace("_", "-").lower(): value
        for key, value in environ.items()
        if key.startswith("HTTP_")
    }
    if environ.get("CONTENT_TYPE"):
        headers["content-type"] = environ["CONTENT_TYPE"]
    body = b""
    if environ.get("REQUEST_METHOD") == "POST" and "wsgi.websocket" not in environ:
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > 0 or environ.get("HTTP_TRANSFER_ENCODING", "").lower() == "chunked":
            # One byte over the limit is enough to refuse the request.
            body = environ["wsgi.input"].read(min(length, max_body + 1) if length else max_body + 1)
    return Request(
        method=environ.get("REQUEST_METHOD", "GET"),
        path=path,
        query_string=environ.get("QUERY_STRING", ""),
        headers=headers,
        body=body,
        remote_addr=environ.get("REMOTE_ADDR", ""),
        environ=environ,
    )


def respond(start_response: Callable[..., Any], response: Response) -> list[bytes]:
    headers = list(response.headers)
    if response.status not in (204, 304):
        headers.append(("Content-Length", str(len(response.body))))
    start_response(status_line(response.status), headers)
    return [response.body] if response.body else []


def plain_text(status: int, text: str) -> Response:
    return Response(status, [("Content-Type", "text/plain;charset=UTF-8")], text.encode())


def status_line(code: int) -> str:
    try:
        return "%d %s" % (code, HTTPStatus(code).phrase)
    except ValueError:
        return "%d Unknown" % code


def timeout_until(deadline: float | None) -> float | None:
    return None if deadline is None else max(0.0, deadline - clock())


def nothing() -> None:
    pass
