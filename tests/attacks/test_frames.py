"""Websocket frames no client should send, sent by hand to gunicorn: a header declaring 2 GB,
a message of endless continuation frames, invalid UTF-8. Each is refused as soon as its
header (or the running total of its fragments) says so, and the worker's memory does not
grow with what the client sends: its VmRSS is sampled every 10 ms during the attack."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from tests.support.servers import GunicornServer

from .wire import (
    CONTINUATION,
    TEXT,
    RawWebSocket,
    RssSampler,
    frame,
    rss_kib,
    session_path,
    worker_pids,
)

MIB = 1024 * 1024
GROWTH_LIMIT_KIB = 16 * 1024
TOO_BIG = 'c[1009,"Message too big"]'

figures: dict[str, str] = {}


@pytest.fixture(scope="module")
def server(start) -> Iterator[GunicornServer]:
    with start(workers=1) as server:
        yield server


class Flood:
    """Sends ``chunks`` from a thread as fast as the socket takes them, until they run out or
    the server closes; counts the bytes sent."""

    def __init__(self, ws: RawWebSocket, chunks: Iterator[bytes]) -> None:
        self.ws = ws
        self.chunks = chunks
        self.sent = 0
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            for chunk in self.chunks:
                self.ws.sock.sendall(chunk)
                self.sent += len(chunk)
        except OSError as error:  # the server closed: the flood stops
            self.error = error

    def join(self) -> None:
        self._thread.join(timeout=30)
        assert not self._thread.is_alive(), "the server never stopped the flood"


def path_of(raw: bool) -> str:
    return "/open/websocket" if raw else session_path("/open")


def pid_of(server: GunicornServer) -> int:
    """The pid of the server's one worker."""
    assert server.proc is not None
    (pid,) = worker_pids(server.proc.pid)
    return pid


def warmed_up(server: GunicornServer, raw: bool) -> int:
    """The worker's pid, once a few ordinary sessions have run (so their one-time allocations
    are in the baseline)."""
    pid = pid_of(server)
    for _ in range(3):
        ws = RawWebSocket.open(server.port, path_of(raw))
        if raw:  # plain messages, no SockJS framing
            ws.send_text(json.dumps({"event": "ping", "data": {"n": 1}}))
            assert json.loads(ws.recv_text())["event"] == "pong"
        else:
            assert ws.recv_text() == "o"
            ws.send_event("ping", {"n": 1})
            assert ws.next_event()["event"] == "pong"
        ws.close()
    return pid


def attack(server: GunicornServer, raw: bool, first: bytes, rest: Iterator[bytes], name: str):
    pid = warmed_up(server, raw)
    ws = RawWebSocket.open(server.port, path_of(raw))
    if not raw:
        assert ws.recv_text() == "o"
    sampler = RssSampler(pid)
    started = time.monotonic()
    ws.send(first)
    flood = Flood(ws, rest)
    texts, close = ws.until_close()
    closed_after = time.monotonic() - started
    flood.join()
    ws.close()
    peak, end = sampler.stop()
    figures[name] = (
        "closed %s after %.3f s, %d bytes sent by then; worker RSS +%d KiB peak, +%d KiB at the end"
        % (close, closed_after, flood.sent + len(first), peak, end)
    )
    print(name, figures[name])
    return texts, close, peak


def megabytes(total: int, size: int = 64 * 1024) -> Iterator[bytes]:
    chunk = b"\x00" * size
    for _ in range(total // size):
        yield chunk


@pytest.mark.timeout(60)
@pytest.mark.parametrize("raw", [False, True], ids=["sockjs", "raw"])
def test_a_2gb_frame_header_closes_at_once(server, raw) -> None:
    header = frame(TEXT, b"", length=2 * 1024 * MIB)  # the header and mask only
    texts, close, peak = attack(server, raw, header, megabytes(8 * MIB), "2 GB header " + str(raw))
    assert close == (1009, "Message too big")
    assert texts == ([] if raw else [TOO_BIG])
    assert peak < GROWTH_LIMIT_KIB


def fragments(total: int, size: int = 16 * 1024) -> Iterator[bytes]:
    """Continuation frames of ``size`` bytes, never the last, ``total`` bytes in all; masked
    ahead of time, so the flood goes as fast as the socket takes it."""
    payload = b"a" * size
    batch = b"".join(frame(CONTINUATION, payload, fin=False) for _ in range(64))
    for _ in range(total // (size * 64)):
        yield batch


@pytest.mark.timeout(60)
@pytest.mark.parametrize("raw", [False, True], ids=["sockjs", "raw"])
def test_200_mib_of_continuation_frames_close_at_the_limit(server, raw) -> None:
    first = frame(TEXT, b"a" * 16 * 1024, fin=False)
    texts, close, peak = attack(
        server, raw, first, fragments(200 * MIB), "200 MiB of fragments " + str(raw)
    )
    assert close == (1009, "Message too big")
    assert texts == ([] if raw else [TOO_BIG])
    assert peak < GROWTH_LIMIT_KIB


@pytest.mark.timeout(30)
def test_invalid_utf8_closes_with_1007(server) -> None:
    # In one frame, and in the first fragment of a message (closed before the message ends).
    for sent in (
        frame(TEXT, b'["\xff"]'),
        frame(TEXT, b'["caf\xc3', fin=False) + frame(CONTINUATION, b'\x28"]', fin=False),
    ):
        ws = RawWebSocket.open(server.port, session_path("/open"))
        assert ws.recv_text() == "o"
        ws.send(sent)
        texts, close = ws.until_close()
        assert texts == ['c[1007,"Invalid UTF-8"]']
        assert close == (1007, "Invalid UTF-8")
        ws.close()


@pytest.mark.timeout(60)
def send_head(port: int, headers: dict[str, str]) -> str:
    """A websocket handshake with these headers: the status the server answers, or "reset"
    when it closed the connection before answering."""
    head = (
        (
            "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            "Sec-WebSocket-Version: 13\r\n" % (session_path("/open"), port)
        )
        + "".join("%s: %s\r\n" % item for item in headers.items())
        + "\r\n"
    )
    address = ("127.0.0.1", port)
    with socket.create_connection(address, timeout=10, source_address=("127.0.0.2", 0)) as sock:
        try:
            sock.sendall(head.encode())
        except OSError:
            pass  # the server stopped reading: its answer may still be there
        try:
            answer = sock.recv(64)
        except OSError:
            return "reset"
    return answer.split(b" ")[1].decode() if answer else "reset"


def test_request_heads_are_bounded(server) -> None:
    """gevent alone would take 100 header lines of 64 KiB (about 6 MB) and a session keeps
    its opening request: heads over 64 KiB get 431, and cost the worker nothing."""
    pid = pid_of(server)
    warmed_up(server, False)
    before = rss_kib(pid)
    padding = {"X-Pad-%d" % n: "a" * 65000 for n in range(90)}  # 5.6 MiB of headers
    answers = [send_head(server.port, padding) for _ in range(20)]
    growth = rss_kib(pid) - before
    figures["big heads"] = "20 handshakes with 5.6 MiB of headers: %s; worker RSS +%d KiB" % (
        sorted(set(answers)),
        growth,
    )
    print(figures["big heads"])
    assert set(answers) <= {"431", "reset"} and "431" in answers
    assert growth < GROWTH_LIMIT_KIB
    # A large head within the limit (cookies, say) is served as any other.
    ws = RawWebSocket.open(server.port, session_path("/open"), headers={"X-Pad": "a" * 30000})
    assert ws.recv_text() == "o"
    ws.close()
