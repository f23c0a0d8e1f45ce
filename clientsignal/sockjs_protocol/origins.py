"""Which pages may use a service: the ``Origin`` (or ``Referer``) of each request.

SockJS answers CORS with credentials and lets clients choose session ids, so without a check a
hostile page could open a session with a visitor's cookies. Patterns follow Django's
``ALLOWED_HOSTS``: ``example.com``, ``.example.com`` (and subdomains), ``*``, on the port the
request came in on (another port of the same host is another site's page, and a same-site one:
it would get the visitor's cookies); a pattern with a scheme (``https://example.com:8443``) must
match the whole origin. The request's own host (its ``Host`` header) is always allowed.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from .binding import KEY_COOKIE
from .http import Request


def request_origin(request: Request) -> str | None:
    """The origin of the page behind a request: ``Origin``, else the ``Referer``'s origin."""
    origin = request.headers.get("origin")
    if origin:
        return origin
    referer = request.headers.get("referer")
    if referer:
        parts = _split(referer)
        if parts is not None and parts.scheme and parts.netloc:
            return "%s://%s" % (parts.scheme, parts.netloc)
    return None


def origin_allowed(request: Request, allowed: Iterable[str] | None) -> bool:
    """Whether the request may proceed; ``allowed`` None means any origin.

    A request that names no origin at all comes from no browser page (or one that hid its
    referrer): it is allowed only without cookies, so it cannot act as a logged-in visitor.
    """
    if allowed is None:
        return True
    origin = request_origin(request)
    if origin is None:
        return not _identifying_cookies(request)
    if origin == "null":
        return False
    parts = _split(origin.lower())
    if parts is None or not parts.hostname or _host_port(parts.netloc) is _INVALID:
        return False
    own = request.headers.get("host", "").lower()
    if own and parts.netloc == own:
        return True
    own_port = _host_port(own)
    if own_port is _INVALID:
        return False
    port = _port(own_port, parts.scheme)
    for pattern in allowed:
        pattern = pattern.lower().rstrip("/")
        if pattern == "*":
            return True
        if "://" in pattern:
            if origin.lower() == pattern:
                return True
        elif _host_matches(parts.hostname, pattern) and _port(parts.port, parts.scheme) == port:
            return True
    return False


def _identifying_cookies(request: Request) -> bool:
    """Whether the request carries cookies that could say who the visitor is: any but the
    session-binding key (which names no one, see :mod:`.binding`)."""
    return any(name != KEY_COOKIE for name in request.cookies)


def frame_ancestors(request: Request, allowed: Iterable[str]) -> str:
    """A CSP ``frame-ancestors`` value for the iframe page: the pages that may embed it
    (inside the iframe, requests are same-origin, so this is where the check happens)."""
    own = request.headers.get("host", "")
    port = _host_port(own)
    if port is _INVALID:
        port = None
    suffix = ":%d" % port if port else ""
    sources = ["'self'"]
    for pattern in allowed:
        if "://" in pattern:
            sources.append(pattern.rstrip("/"))
        elif pattern == "*":
            sources.append("*")
        elif pattern.startswith("."):
            sources += [pattern[1:] + suffix, "*" + pattern + suffix]
        else:
            sources.append(pattern + suffix)
    return "frame-ancestors " + " ".join(sources)


def _port(port: int | None, scheme: str) -> int:
    return port or (443 if scheme in ("https", "wss") else 80)


def _host_matches(host: str, pattern: str) -> bool:
    if pattern.startswith("."):
        return host == pattern[1:] or host.endswith(pattern)
    return host == pattern


_INVALID = object()


def _split(url: str) -> Any:
    """``urlsplit(url)``, or None for what it cannot split (a malformed IPv6 address)."""
    try:
        return urlsplit(url)
    except ValueError:
        return None


def _host_port(netloc: str) -> Any:
    """The port of a ``Host`` header or an origin's netloc: None when it names none,
    ``_INVALID`` when it is not a host and port a client could have meant."""
    if not netloc:
        return None
    parts = _split("//" + netloc)
    if parts is None:
        return _INVALID
    try:
        return parts.port
    except ValueError:
        return _INVALID
