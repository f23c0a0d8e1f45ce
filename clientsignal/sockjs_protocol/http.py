"""Plain HTTP request and response values exchanged between the core and the I/O layer."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from email.utils import formatdate
from typing import Any
from urllib.parse import parse_qs

NO_CACHE = "no-store, no-cache, no-transform, must-revalidate, max-age=0"
MAX_MORE_QUERY = 8192
"""Characters of query string a client's message may add to its opening request."""
ONE_YEAR = 365 * 24 * 60 * 60

Headers = list[tuple[str, str]]


@dataclass
class Request:
    """One HTTP request under a service prefix, with every field the core and the application
    need (the core never sees a WSGI environ).

    ``path`` is relative to the prefix (``/000/abc/xhr``); ``prefix`` is the prefix as the
    request named it (``/rooms/7`` for a service mounted on ``/rooms/<int:room_id>``), and
    ``url_kwargs`` what the prefix captured (``{"room_id": 7}``). Header names are lower case.
    ``date`` is the wall-clock time the request arrived (seconds since the epoch): the core
    has no clock, and its timers run on the monotonic ``now`` it is given instead.
    """

    method: str
    path: str
    query_string: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    remote_addr: str = ""
    prefix: str = ""
    url_kwargs: dict[str, Any] = field(default_factory=dict)
    scheme: str = "http"
    server_name: str = "localhost"
    server_port: str = "80"
    script_name: str = ""
    protocol: str = "HTTP/1.1"
    date: float = 0.0

    @property
    def query(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.query_string, keep_blank_values=True).items()}

    def with_query(self, more: str) -> Request:
        """This request with ``more`` query string after its own (at most MAX_MORE_QUERY
        characters of it): what a client said in a message (a multiplexed ``sub``, an opening
        message) for this opening only."""
        query = "&".join(part for part in (self.query_string, more[:MAX_MORE_QUERY]) if part)
        return replace(self, query_string=query)

    @property
    def cookies(self) -> dict[str, str]:
        """The ``Cookie`` header, parsed leniently (one malformed cookie, another
        application's, does not hide the others) and as Django parses it: of two cookies with
        the same name, the last one counts. Reading them otherwise than the application does
        would let a cookie planted in the visitor's browser decide what a session is bound
        to, while the application authenticates the visitor."""
        cookies: dict[str, str] = {}
        for part in self.headers.get("cookie", "").split(";"):
            name, sep, value = part.partition("=")
            name = name.strip()
            if sep and name:
                cookies[name] = value.strip().strip('"')
        return cookies

    @property
    def full_path(self) -> str:
        """The path as the client requested it: script name, prefix and path."""
        return self.script_name + self.prefix + self.path


@dataclass
class Response:
    """A complete (non-streaming) HTTP response."""

    status: int
    headers: Headers = field(default_factory=list)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        name = name.lower()
        for key, value in self.headers:
            if key.lower() == name:
                return value
        return None


def no_cache_headers() -> Headers:
    return [("Cache-Control", NO_CACHE)]


def cache_headers(date: float) -> Headers:
    """Headers that let the response be cached for a year from ``date`` (wall clock)."""
    expires = formatdate(date + ONE_YEAR, usegmt=True)
    return [("Cache-Control", "public, max-age=%d" % ONE_YEAR), ("Expires", expires)]


def cors_headers(request: Request) -> Headers:
    """CORS headers echoing the request's ``Origin`` (``null`` included) with credentials."""
    origin = request.headers.get("origin")
    if origin:
        headers = [
            ("Access-Control-Allow-Origin", origin),
            ("Access-Control-Allow-Credentials", "true"),
            ("Vary", "Origin"),
        ]
    else:
        headers = [("Access-Control-Allow-Origin", "*")]
    requested = request.headers.get("access-control-request-headers")
    if requested:
        headers.append(("Access-Control-Allow-Headers", requested))
    return headers


def text_response(status: int, text: str, headers: Headers | tuple[()] = ()) -> Response:
    return Response(
        status,
        [("Content-Type", "text/plain;charset=UTF-8"), *no_cache_headers(), *headers],
        text.encode("utf-8"),
    )


def not_found() -> Response:
    return Response(404, [("Content-Type", "text/plain;charset=UTF-8")], b"Not found.")


def method_not_allowed(allowed: tuple[str, ...]) -> Response:
    """405 with an ``Allow`` header, no body and no content type (as the spec asks)."""
    return Response(405, [("Allow", ", ".join(allowed))], b"")


def options_response(request: Request, allowed: tuple[str, ...]) -> Response:
    """The cacheable answer to a CORS preflight."""
    return Response(
        204,
        [
            ("Access-Control-Allow-Methods", ", ".join(allowed)),
            ("Access-Control-Max-Age", str(ONE_YEAR)),
            *cache_headers(request.date),
            *cors_headers(request),
        ],
    )
