"""Forwarding between workers without Redis: the core's messages (encoded as workers of
earlier versions spoke them), and two workers' middlewares in one process sharing the
in-process backend, which implements the same session and inbox methods as Redis: a session
opened on one worker is sent to and polled through the other."""

from __future__ import annotations

import io
from typing import Any

import gevent
import pytest

from clientsignal.backends import MemoryBackend
from clientsignal.echo import PROTOCOL_TEST_OPTIONS, PROTOCOL_TEST_SERVICES
from clientsignal.gevent_io.forwarding import SessionCluster
from clientsignal.sockjs_protocol import Request
from clientsignal.sockjs_protocol import forwarding as messages
from clientsignal.wsgi import ClientSignalMiddleware

REQUEST = Request(
    "POST", "/000/abc/xhr_send", query_string="", headers={"host": "example.com"},
    remote_addr="203.0.113.9", prefix="/echo", body=b'["hi"]',
)  # fmt: skip

EVERY_KIND = [
    messages.Forward.of(REQUEST, token="t1", reply_to="cs:worker:b", mount="/echo"),
    messages.Response("t1", 204, [("Content-Type", "text/plain")], b""),
    messages.Head("t2", 200, [("Content-Type", "application/javascript")], b"o\n"),
    messages.Chunk("t2", b'a["hi"]\n'),
    messages.End("t2"),
    messages.Abort("t2"),
    messages.AliveQuestion("t2", "q1", "cs:worker:a"),
    messages.AliveAnswer("q1", True),
]


@pytest.mark.parametrize("message", EVERY_KIND, ids=lambda m: type(m).__name__)
def test_every_message_comes_back_as_it_went(message: messages.Message) -> None:
    assert messages.decode(messages.encode(message)) == message


def test_the_wire_is_what_earlier_workers_speak() -> None:
    """A JSON head line (``op`` and fields), then the body as it is: a rolling restart mixes
    workers of two versions."""
    head, _, body = messages.encode(EVERY_KIND[0]).partition(b"\n")
    assert body == b'["hi"]'
    assert b'"op":"request"' in head and b'"request":{' in head and b'"reply_to":' in head
    old_chunk = b'{"op": "chunk", "token": "t2"}\nc[3000,"Go away!"]\n'
    assert messages.decode(old_chunk) == messages.Chunk("t2", b'c[3000,"Go away!"]\n')
    forward = messages.decode(messages.encode(EVERY_KIND[0]))
    assert isinstance(forward, messages.Forward)
    assert forward.request({}) == REQUEST


@pytest.mark.parametrize(
    "data", [b"", b"not json\n", b'{"op": "unknown"}\n', b'{"op": "chunk"}\n', b"[1]\n"]
)
def test_what_is_not_a_message_says_so(data: bytes) -> None:
    with pytest.raises(messages.MalformedMessage):
        messages.decode(data)


class Worker:
    """One worker's middleware, sharing sessions through ``backend``."""

    def __init__(self, backend: MemoryBackend) -> None:
        self.app = ClientSignalMiddleware(
            lambda environ, start_response: [], PROTOCOL_TEST_SERVICES,
            options=PROTOCOL_TEST_OPTIONS,
        )  # fmt: skip
        self.cluster = SessionCluster(backend, self.app.services)
        self.app.worker.cluster = self.cluster
        self.app.worker._ready.set()  # no reaper: this test drives everything

    def request(self, method: str, path: str, body: bytes = b"") -> tuple[str, bytes]:
        environ: dict[str, Any] = {
            "REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": "",
            "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000", "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1", "HTTP_HOST": "127.0.0.1:8000",
            "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(body),
            "CONTENT_LENGTH": str(len(body)),
        }  # fmt: skip
        status: list[str] = []
        chunks = self.app(environ, lambda line, headers, exc_info=None: status.append(line))
        return status[0] if status else "", b"".join(chunks)


def test_two_workers_share_a_session_through_the_in_process_backend() -> None:
    backend = MemoryBackend()
    a, b = Worker(backend), Worker(backend)
    session = "/echo/000/forwarded/"

    def run() -> list[tuple[str, bytes]]:
        opened = a.request("POST", session + "xhr")  # a claims and opens it
        sent = b.request("POST", session + "xhr_send", b'["through b"]')  # forwarded to a
        polled = b.request("POST", session + "xhr")  # relayed from a, chunk by chunk
        return [opened, sent, polled]

    opened, sent, polled = gevent.spawn(run).get(timeout=10)
    assert opened == ("200 OK", b"o\n")
    assert sent[0].startswith("204")
    assert polled == ("200 OK", b'a["through b"]\n')
    assert (a.cluster.stats["served_for_others"], b.cluster.stats["forwarded"]) == (2, 2)
    assert backend.session_owner("/echo:forwarded") == a.cluster.id


def test_a_send_for_a_dead_owner_is_503_at_once() -> None:
    backend = MemoryBackend()
    a, b = Worker(backend), Worker(backend)
    session = "/echo/000/orphan/"

    def run() -> tuple[str, bytes]:
        a.request("POST", session + "xhr")
        backend._inboxes.pop(a.cluster.inbox)  # a died: nobody reads its inbox
        return b.request("POST", session + "xhr_send", b'["lost"]')

    status, body = gevent.spawn(run).get(timeout=5)
    assert (status, body) == ("503 Service Unavailable", b"Session owner unreachable.")
