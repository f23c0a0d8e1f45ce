"""Plain HTTP request and response values exchanged between the core and the I/O layer."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from email.utils import formatdate
from http.cookies import CookieError, SimpleCookie
from typing import Any
from urllib.parse import parse_qs

NO_CACHE = "no-store, no-cache, no-transform, must-revalidate, max-age=0"
ONE_YEAR = 365 * 24 * 60 * 60

Headers = list[tuple[str, str]]


@dataclass
class Request:
    """One HTTP request under a service prefix.

    ``path`` is relative to the prefix (``/000/abc/xhr``); header names are lower case.
    ``environ`` keeps the WSGI environ for the application layer (Django builds its request
    from it); the core never reads it.
    """

    method: str
    path: str
    query_string: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    remote_addr: str = ""
    environ: dict[str, Any] | None = None

    @property
    def query(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.query_string, keep_blank_values=True).items()}

    @property
    def cookies(self) -> dict[str, str]:
        cookie = SimpleCookie()
        try:
            cookie.load(self.headers.get("cookie", ""))
        except CookieError:
            return {}
        return {name: morsel.value for name, morsel in cookie.items()}


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


def cache_headers(now: float | None = None) -> Headers:
    """Headers that let the response be cached for a year."""
    expires = formatdate((time.time() if now is None else now) + ONE_YEAR, usegmt=True)
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


def text_response(status: int, text: str, headers: Headers = ()) -> Response:
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


def options_response(request: Request, allowed: tuple[str, ...], now: float) -> Response:
    """The cacheable answer to a CORS preflight."""
    return Response(
        204,
        [
            ("Access-Control-Allow-Methods", ", ".join(allowed)),
            ("Access-Control-Max-Age", str(ONE_YEAR)),
            *cache_headers(now),
            *cors_headers(request),
        ],
    )
