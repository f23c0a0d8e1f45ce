"""gevent I/O shared by the middleware and session forwarding: following a receiver,
watching for clients that go away, and WSGI plumbing."""

from __future__ import annotations

import socket
import struct
import time
from collections.abc import Callable, Iterator
from http import HTTPStatus
from typing import Any

import gevent
from gevent.event import Event
from geventwebsocket.exceptions import WebSocketError

from .sockjs_protocol import Request, Response
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
    return DisconnectWatch(client_socket(environ), wakeup)


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
