"""HTTP under gevent's pywsgi: the core's requests from WSGI environs, its responses back,
following a streaming receiver, noticing clients that go away, and timing out slow headers."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from http import HTTPStatus
from typing import Any

import gevent
from gevent.event import Event

from ..sockjs_protocol import Request, Response, Stream
from ..sockjs_protocol.receiver import Receiver

clock = time.monotonic

BODY_TIMEOUT = 10.0
"""Seconds a client may take to send a request body (an ``xhr_send``) once its headers are in."""


class Refused(Exception):
    """A request the I/O layer answers itself, before the core sees it."""

    def __init__(self, status: int, text: str) -> None:
        super().__init__(text)
        self.status = status
        self.text = text


def build_request(
    environ: dict[str, Any],
    *,
    prefix: str,
    path: str,
    url_kwargs: dict[str, Any],
    trusted_proxies: tuple[str, ...] = (),
) -> Request:
    """The core's request for a WSGI request under ``prefix``, without its body (see
    :func:`read_body`: only a send's is read). Its ``remote_addr`` and ``scheme`` are the
    client's: from ``X-Forwarded-For`` and ``X-Forwarded-Proto`` when the request came through
    one of ``trusted_proxies``."""
    headers = {
        key[5:].replace("_", "-").lower(): value
        for key, value in environ.items()
        if key.startswith("HTTP_")
    }
    if environ.get("CONTENT_TYPE"):
        headers["content-type"] = environ["CONTENT_TYPE"]
    remote = environ.get("REMOTE_ADDR", "")
    return Request(
        method=environ.get("REQUEST_METHOD", "GET"),
        path=path,
        query_string=environ.get("QUERY_STRING", ""),
        headers=headers,
        remote_addr=client_address(remote, headers.get("x-forwarded-for"), trusted_proxies),
        prefix=prefix,
        url_kwargs=url_kwargs,
        scheme=client_scheme(
            environ.get("wsgi.url_scheme", "http"),
            remote,
            headers.get("x-forwarded-proto"),
            trusted_proxies,
        ),
        server_name=environ.get("SERVER_NAME", "localhost"),
        server_port=str(environ.get("SERVER_PORT", "80")),
        script_name=environ.get("SCRIPT_NAME", ""),
        protocol=environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
        date=time.time(),
    )


def client_address(remote: str, forwarded_for: str | None, trusted: tuple[str, ...]) -> str:
    """The client's address: ``remote``, or, when that is a trusted proxy, the address it
    says it forwarded for (the rightmost entry of ``X-Forwarded-For`` not itself a trusted
    proxy's: whatever is left of it, the client may have written)."""
    if not forwarded_for or remote not in trusted:
        return remote
    client = remote
    for address in reversed(forwarded_for.split(",")):
        if client not in trusted:
            break
        client = address.strip() or client
    return client


def client_scheme(
    scheme: str, remote: str, forwarded_proto: str | None, trusted: tuple[str, ...]
) -> str:
    """The scheme the client used: ``scheme``, or, from a trusted proxy that ended TLS (gunicorn's
    gevent workers see plain HTTP), the ``X-Forwarded-Proto`` it set (``http`` or ``https``)."""
    if forwarded_proto is None or remote not in trusted:
        return scheme
    forwarded = forwarded_proto.strip().lower()
    return forwarded if forwarded in ("http", "https") else scheme


def read_body(environ: dict[str, Any], max_body: int) -> bytes:
    """A POST's body, read only up to ``max_body`` + 1 bytes and within :data:`BODY_TIMEOUT`;
    a ``Content-Length`` over ``max_body`` is refused without reading (413), a body too slow
    too (408)."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise Refused(400, "Bad Content-Length.") from None
    if length > max_body:
        raise Refused(413, "Payload too large.")
    chunked = environ.get("HTTP_TRANSFER_ENCODING", "").lower() == "chunked"
    if length <= 0 and not chunked:
        return b""
    # One byte over the limit is enough for the core to refuse a chunked body.
    with gevent.Timeout(BODY_TIMEOUT, False):
        return environ["wsgi.input"].read(length if length > 0 else max_body + 1)
    raise Refused(408, "Request body too slow.")


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


def stream(
    start_response: Callable[..., Any], result: Stream, environ: dict[str, Any]
) -> Iterator[bytes]:
    """Start a streaming response and follow its receiver until it is done or the client is
    gone (a generator: pywsgi writes each chunk as it comes)."""
    headers = result.headers
    if environ.get("SERVER_PROTOCOL") == "HTTP/1.0":
        # No chunked encoding in HTTP/1.0: the end of the stream is the end of the
        # connection, whatever keep-alive the client asked for.
        headers = [*headers, ("Connection", "close")]
    start_response(status_line(result.status), headers)
    return _follow(result, environ)


def _follow(result: Stream, environ: dict[str, Any]) -> Iterator[bytes]:
    receiver = result.receiver
    wakeup = Event()
    receiver.wake = wakeup.set
    gone = watch_disconnect(environ, wakeup)
    receiver.alive = gone.alive
    try:
        if result.prelude:
            yield result.prelude
        for chunk in frames(receiver, wakeup, gone):
            yield chunk if isinstance(chunk, bytes) else chunk.encode("utf-8")
    except GeneratorExit:
        # The server failed to write: the client went away mid-response.
        receiver.abort(clock())
        raise
    finally:
        receiver.wake = nothing
        gone.stop()


def frames(receiver: Receiver, wakeup: Event, gone: Any) -> Iterator[str | bytes]:
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
        self._io: Any = None
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


def watch_disconnect(environ: dict[str, Any], wakeup: Any) -> DisconnectWatch:
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


def timeout_until(deadline: float | None) -> float | None:
    return None if deadline is None else max(0.0, deadline - clock())


def nothing() -> None:
    pass
