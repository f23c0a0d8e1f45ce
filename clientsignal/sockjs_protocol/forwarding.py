"""What workers say to each other to serve one another's HTTP sessions, sans-I/O.

A request that lands on a worker that does not hold its session is forwarded to the worker
that does (its owner), through a backend both reach (``gevent_io/forwarding.py`` does the
carrying). Each message is a small immutable class; :func:`encode` turns one into bytes and
:func:`decode` bytes back into one: a JSON head line (its ``op`` and fields), then its body as
it is (a request's body, a response's, a stream's chunk), never decoded on the way.

A forwarded request (:class:`Forward`) is answered by the owner with a whole
:class:`Response`, or with a :class:`Head` (status, headers and the stream's prelude), then
each :class:`Chunk` as its receiver releases it, then :class:`End`. The forwarding worker
tells the owner when its client went away (:class:`Abort`), and the owner asks the forwarding
worker whether its client is still there (:class:`AliveQuestion`, :class:`AliveAnswer`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import ujson

from .http import Request

# The fields of a forwarded request; the owner finds url_kwargs again from the prefix.
REQUEST_FIELDS = (
    "method",
    "path",
    "query_string",
    "headers",
    "remote_addr",
    "prefix",
    "scheme",
    "server_name",
    "server_port",
    "script_name",
    "protocol",
    "date",
)

Headers = list[tuple[str, str]]


@dataclass(frozen=True, slots=True)
class Forward:
    """A request for a session of the ``mount``ed service, for its owner; answers go to the
    ``reply_to`` inbox under ``token``."""

    token: str
    reply_to: str
    mount: str
    fields: dict[str, Any]
    body: bytes = b""

    @classmethod
    def of(cls, request: Request, *, token: str, reply_to: str, mount: str) -> Forward:
        fields = {name: getattr(request, name) for name in REQUEST_FIELDS}
        return cls(token, reply_to, mount, fields, request.body)

    def request(self, url_kwargs: dict[str, Any]) -> Request:
        """The request as the owner serves it (``url_kwargs`` found again from its prefix)."""
        return Request(**self.fields, body=self.body, url_kwargs=url_kwargs)


@dataclass(frozen=True, slots=True)
class Response:
    """A whole answer (a send's, an error)."""

    token: str
    status: int
    headers: Headers
    body: bytes = b""


@dataclass(frozen=True, slots=True)
class Head:
    """The start of a streamed answer (a poll, a stream): its status, headers and prelude."""

    token: str
    status: int
    headers: Headers
    prelude: bytes = b""


@dataclass(frozen=True, slots=True)
class Chunk:
    token: str
    data: bytes


@dataclass(frozen=True, slots=True)
class End:
    token: str


@dataclass(frozen=True, slots=True)
class Abort:
    """The forwarding worker's client went away: the owner lets go of the receiver."""

    token: str


@dataclass(frozen=True, slots=True)
class AliveQuestion:
    """Is the client of the stream ``token`` still connected? (asked of its relaying worker;
    the answer goes to ``reply_to``)."""

    token: str
    question: str
    reply_to: str


@dataclass(frozen=True, slots=True)
class AliveAnswer:
    question: str
    alive: bool


Message = Forward | Response | Head | Chunk | End | Abort | AliveQuestion | AliveAnswer


@dataclass(frozen=True, slots=True)
class _Shape:
    """How one kind of message is written: its ``op``, its head fields, the field that is
    its body (if any)."""

    op: str
    head: tuple[str, ...]
    body: str | None = None
    aliases: dict[str, str] = field(default_factory=dict)


# The ops and field names are those of the wire format workers of earlier versions speak.
_SHAPES: dict[type, _Shape] = {
    Forward: _Shape("request", ("token", "reply_to", "mount", "fields"), "body",
                    {"fields": "request"}),
    Response: _Shape("response", ("token", "status", "headers"), "body"),
    Head: _Shape("head", ("token", "status", "headers"), "prelude"),
    Chunk: _Shape("chunk", ("token",), "data"),
    End: _Shape("end", ("token",)),
    Abort: _Shape("abort", ("token",)),
    AliveQuestion: _Shape("alive?", ("token", "question", "reply_to")),
    AliveAnswer: _Shape("alive", ("question", "alive")),
}  # fmt: skip
_BY_OP = {shape.op: (cls, shape) for cls, shape in _SHAPES.items()}


class MalformedMessage(ValueError):
    """Bytes that are not a forwarding message (another version, a stray publish)."""


def encode(message: Message) -> bytes:
    """The message as bytes: its head as one JSON line, then its body as it is."""
    shape = _SHAPES[type(message)]
    head: dict[str, Any] = {"op": shape.op}
    for name in shape.head:
        head[shape.aliases.get(name, name)] = getattr(message, name)
    body = getattr(message, shape.body) if shape.body else b""
    return ujson.dumps(head).encode() + b"\n" + body


def decode(data: bytes) -> Message:
    """The message in ``data``; raises :class:`MalformedMessage` when it is not one."""
    line, _, body = data.partition(b"\n")
    try:
        head = ujson.loads(line)
        cls, shape = _BY_OP[head["op"]]
        values = {name: head[shape.aliases.get(name, name)] for name in shape.head}
    except (ValueError, KeyError, TypeError) as error:
        raise MalformedMessage("not a forwarding message: %r" % data[:80]) from error
    if "headers" in values:
        values["headers"] = [(str(name), str(value)) for name, value in values["headers"]]
    if shape.body:
        values[shape.body] = body
    return cls(**values)
