"""What an attacker (and a browser) puts on the wire, with plain sockets: HTTP with a cookie
jar, SockJS HTTP sessions, and websockets framed by hand (so a test can send what no
websocket library would: a 2 GB header, endless fragments, invalid UTF-8, from any source
address), plus the server-side figures a test measures (a worker's pids and RSS)."""

from __future__ import annotations

import base64
import http.client
import json
import os
import socket
import struct
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

# -- HTTP -------------------------------------------------------------------------------------


@dataclass
class Reply:
    status: int
    headers: http.client.HTTPMessage
    body: str
    seconds: float

    def set_cookies(self) -> list[str]:
        return self.headers.get_all("Set-Cookie") or []


def http_request(
    port: int,
    method: str,
    path: str,
    body: bytes | str | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 10,
    source: str | None = None,
) -> Reply:
    """One request on a connection of its own (``source``: the client address to bind)."""
    started = time.monotonic()
    conn = http.client.HTTPConnection(
        "127.0.0.1", port, timeout=timeout, source_address=(source, 0) if source else None
    )
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        text = response.read().decode("utf-8", "replace")
        return Reply(response.status, response.headers, text, time.monotonic() - started)
    finally:
        conn.close()


@dataclass
class Browser:
    """A client with a cookie jar, as a browser keeps one for the server's site."""

    port: int
    cookies: dict[str, str] = field(default_factory=dict)

    def cookie_header(self) -> dict[str, str]:
        if not self.cookies:
            return {}
        return {"Cookie": "; ".join("%s=%s" % item for item in self.cookies.items())}

    def headers(self) -> dict[str, str]:
        """What a browser sends from the site's own pages: its cookies and the page's origin
        (sent with every POST, and with a websocket handshake)."""
        return {"Origin": "http://127.0.0.1:%d" % self.port, **self.cookie_header()}

    def request(
        self,
        method: str,
        path: str,
        body: bytes | str | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = 10,
        via: Pinned | None = None,
    ) -> Reply:
        """A request with the browser's cookies and origin; ``via`` a pinned connection (a
        given worker) rather than a new one."""
        sent = {**self.headers(), **(headers or {})}
        if via is not None:
            reply = via.request(method, path, body, sent)
        else:
            reply = http_request(self.port, method, path, body, sent, timeout)
        for line in reply.set_cookies():
            self._store(line)
        return reply

    def _store(self, line: str) -> None:
        pair, *attributes = line.split(";")
        name, _, value = pair.strip().partition("=")
        attrs = {
            a.strip().partition("=")[0].lower(): a.strip().partition("=")[2] for a in attributes
        }
        if (
            attrs.get("max-age") == "0"
            or "1970" in attrs.get("expires", "")
            or not value.strip('"')
        ):
            self.cookies.pop(name, None)
        else:
            self.cookies[name] = value

    def login(self, name: str) -> dict:
        reply = self.request("GET", "/login/%s/" % name)
        assert reply.status == 200, reply
        return json.loads(reply.body)

    def logout(self) -> dict:
        reply = self.request("GET", "/logout/")
        assert reply.status == 200, reply
        return json.loads(reply.body)


def sockjs_message(event: str, data: dict | None = None) -> str:
    """One clientsignal message as the SockJS array of strings an ``xhr_send`` carries."""
    return json.dumps([json.dumps({"event": event, "data": data or {}})])


def events_of(frames: list[str]) -> list[dict]:
    """The clientsignal events in SockJS frames (``a[...]``)."""
    events: list[dict] = []
    for frame in frames:
        if frame.startswith("a"):
            events.extend(json.loads(m) for m in json.loads(frame[1:]))
    return events


class HttpSession:
    """One SockJS session over xhr-polling, as sockjs-client runs it: polls and sends name
    the session in their URLs and carry the browser's cookies."""

    def __init__(self, browser: Browser, prefix: str, session_id: str | None = None) -> None:
        self.browser = browser
        self.prefix = prefix
        self.id = session_id or uuid.uuid4().hex
        self.base = "%s/000/%s" % (prefix, self.id)

    def open(self) -> Reply:
        reply = self.poll_reply()
        assert (reply.status, reply.body) == (200, "o\n"), reply
        return reply

    def poll_reply(self, timeout: float = 10, via: Pinned | None = None) -> Reply:
        return self.browser.request("POST", self.base + "/xhr", timeout=timeout, via=via)

    def poll(self, timeout: float = 10, via: Pinned | None = None) -> list[str]:
        reply = self.poll_reply(timeout, via)
        assert reply.status == 200, reply
        return [line for line in reply.body.split("\n") if line]

    def events(self, timeout: float = 10, via: Pinned | None = None) -> list[dict]:
        """The events of the next poll."""
        return events_of(self.poll(timeout, via))

    def send(self, event: str, data: dict | None = None, via: Pinned | None = None) -> Reply:
        return self.browser.request(
            "POST", self.base + "/xhr_send", sockjs_message(event, data), via=via
        )


def jsonp_send(port: int, path: str, message: str, headers: dict[str, str] | None = None) -> Reply:
    """A ``jsonp_send`` form post (``d=<SockJS array>``), as an attacker's page would post it."""
    body = "d=" + quote(message)
    form = {"Content-Type": "application/x-www-form-urlencoded", **(headers or {})}
    return http_request(port, "POST", path, body, form)


# -- websockets by hand -------------------------------------------------------------------

CONTINUATION, TEXT, BINARY, CLOSE, PING, PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA


def frame(
    opcode: int, payload: bytes = b"", *, fin: bool = True, length: int | None = None
) -> bytes:
    """A masked client frame; ``length`` declares another length than the payload's."""
    size = len(payload) if length is None else length
    head = bytes([(0x80 if fin else 0) | opcode])
    if size < 126:
        head += bytes([0x80 | size])
    elif size < 65536:
        head += bytes([0x80 | 126]) + struct.pack("!H", size)
    else:
        head += bytes([0x80 | 127]) + struct.pack("!Q", size)
    mask = os.urandom(4)
    if not payload:
        return head + mask
    key = (mask * (len(payload) // 4 + 1))[: len(payload)]
    masked = (int.from_bytes(payload, "big") ^ int.from_bytes(key, "big")).to_bytes(
        len(payload), "big"
    )
    return head + mask + masked


def handshake(path: str, headers: dict[str, str] | None = None) -> bytes:
    """A websocket handshake; ``headers`` add to it (a ``Host`` replaces 127.0.0.1)."""
    headers = dict(headers or {})
    lines = [
        "GET %s HTTP/1.1" % path,
        "Host: %s" % headers.pop("Host", "127.0.0.1"),
        "Upgrade: websocket",
        "Connection: Upgrade",
        "Sec-WebSocket-Version: 13",
        "Sec-WebSocket-Key: %s" % base64.b64encode(os.urandom(16)).decode(),
        *("%s: %s" % item for item in headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def connect(port: int, source: str | None = None, timeout: float = 10) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    if source:
        sock.bind((source, 0))
    sock.connect(("127.0.0.1", port))
    return sock


class WireClosed(Exception):
    """The server closed the TCP connection."""


class RawWebSocket:
    """A websocket on a plain socket: frames in and out exactly as a test writes them."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""
        self.head = ""

    @classmethod
    def open(
        cls,
        port: int,
        path: str,
        *,
        headers: dict[str, str] | None = None,
        source: str | None = None,
        timeout: float = 10,
    ) -> RawWebSocket:
        ws = cls(connect(port, source, timeout))
        ws.sock.sendall(handshake(path, headers))
        ws.read_head()
        return ws

    def read_head(self) -> str:
        while b"\r\n\r\n" not in self.buffer:
            self._fill()
        head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        self.head = head.decode("latin-1")
        assert self.head.startswith("HTTP/1.1 101"), self.head
        return self.head

    def _fill(self) -> None:
        data = self.sock.recv(65536)
        if not data:
            raise WireClosed()
        self.buffer += data

    def _take(self, size: int) -> bytes:
        while len(self.buffer) < size:
            self._fill()
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        return data

    def recv_frame(self) -> tuple[int, bytes]:
        """The next server frame: (opcode, payload)."""
        b0, b1 = self._take(2)
        size = b1 & 0x7F
        if size == 126:
            (size,) = struct.unpack("!H", self._take(2))
        elif size == 127:
            (size,) = struct.unpack("!Q", self._take(8))
        return b0 & 0x0F, self._take(size)

    def recv_text(self) -> str:
        """The next text frame's text, answering pings and skipping pongs."""
        while True:
            opcode, payload = self.recv_frame()
            if opcode == TEXT:
                return payload.decode()
            if opcode == PING:
                self.send(frame(PONG, payload))
            elif opcode == CLOSE:
                raise AssertionError("closed: %r" % (close_of(payload),))

    def until_close(self) -> tuple[list[str], tuple[int, str] | None]:
        """Every text frame until the server's close frame, and that close's (code, reason);
        None if the connection ended without one."""
        texts: list[str] = []
        while True:
            try:
                opcode, payload = self.recv_frame()
            except (WireClosed, ConnectionResetError):
                return texts, None
            if opcode == TEXT:
                texts.append(payload.decode())
            elif opcode == CLOSE:
                return texts, close_of(payload)

    def until_close_or_quiet(self, quiet: float) -> tuple[list[str], tuple[int, str] | None]:
        """Like :meth:`until_close`, but also stops once nothing came for ``quiet`` seconds
        (close None)."""
        timeout = self.sock.gettimeout()
        self.sock.settimeout(quiet)
        try:
            texts: list[str] = []
            while True:
                try:
                    opcode, payload = self.recv_frame()
                except (TimeoutError, WireClosed, ConnectionResetError):
                    return texts, None
                if opcode == TEXT:
                    texts.append(payload.decode())
                elif opcode == CLOSE:
                    return texts, close_of(payload)
        finally:
            self.sock.settimeout(timeout)

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def send_text(self, text: str) -> None:
        self.send(frame(TEXT, text.encode()))

    def send_event(self, event: str, data: dict | None = None) -> None:
        self.send_text(sockjs_message(event, data))

    def next_event(self) -> dict:
        """The next clientsignal event, skipping heartbeats."""
        while True:
            text = self.recv_text()
            if text.startswith("a"):
                events = events_of([text])
                assert len(events) == 1, events
                return events[0]
            assert text == "h", text

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


def close_of(payload: bytes) -> tuple[int, str]:
    if len(payload) < 2:
        return (1005, "")
    return (int.from_bytes(payload[:2], "big"), payload[2:].decode("utf-8", "replace"))


def session_path(prefix: str, transport: str = "websocket") -> str:
    return "%s/000/%s/%s" % (prefix, uuid.uuid4().hex, transport)


# -- the server's side: gunicorn's workers, their memory ------------------------------------


def worker_pids(master: int) -> list[int]:
    """The gunicorn master's children (its workers)."""
    children = Path("/proc/%d/task/%d/children" % (master, master)).read_text().split()
    return [int(pid) for pid in children]


def rss_kib(pid: int) -> int:
    """The resident set size of ``pid``, in KiB (VmRSS)."""
    for line in Path("/proc/%d/status" % pid).read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise LookupError("no VmRSS for %d" % pid)


class RssSampler:
    """The worker's VmRSS every 10 ms, in a thread, while the attack runs."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.before = rss_kib(pid)
        self.peak = self.before
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.01):
            self.peak = max(self.peak, rss_kib(self.pid))

    def stop(self) -> tuple[int, int]:
        """(peak growth, growth at the end), in KiB."""
        self._stop.set()
        self._thread.join()
        after = rss_kib(self.pid)
        self.peak = max(self.peak, after)
        return self.peak - self.before, after - self.before


# -- one keep-alive connection per worker --------------------------------------------------


class Pinned:
    """A keep-alive HTTP connection, hence always the same worker (``pid``)."""

    def __init__(self, port: int, pid: int, conn: http.client.HTTPConnection) -> None:
        self.port = port
        self.pid = pid
        self.conn = conn

    def request(
        self,
        method: str,
        path: str,
        body: bytes | str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        started = time.monotonic()
        self.conn.request(method, path, body=body, headers=headers or {})
        response = self.conn.getresponse()
        text = response.read().decode("utf-8", "replace")
        return Reply(response.status, response.headers, text, time.monotonic() - started)

    def upgrade(self, path: str, headers: dict[str, str] | None = None) -> RawWebSocket:
        """The connection, upgraded to a websocket on ``path``: a websocket on this worker.
        The connection is used up."""
        sock = self.conn.sock
        assert sock is not None, "the connection was closed"
        self.conn.sock = None
        ws = RawWebSocket(sock)
        sock.sendall(handshake(path, headers))
        ws.read_head()
        return ws

    def close(self) -> None:
        self.conn.close()


def pin_workers(port: int, workers: int, timeout: float = 20) -> list[Pinned]:
    """One keep-alive connection to each of the ``workers`` workers (a worker's pid comes
    with the page): new connections land on whichever worker accepts first, so open them
    until every worker has one."""
    found: dict[int, Pinned] = {}
    spare: list[http.client.HTTPConnection] = []
    deadline = time.monotonic() + timeout
    while len(found) < workers:
        assert time.monotonic() < deadline, "reached only workers %s" % sorted(found)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/page/")
        pid = json.loads(conn.getresponse().read())["pid"]
        if pid in found:
            spare.append(conn)  # held open meanwhile, so the next one may land elsewhere
        else:
            found[pid] = Pinned(port, pid, conn)
    for conn in spare:
        conn.close()
    return list(found.values())
