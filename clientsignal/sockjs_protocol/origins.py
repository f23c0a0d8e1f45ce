"""Which pages may use a service: the ``Origin`` (or ``Referer``) of each request.

SockJS answers CORS with credentials and lets clients choose session ids, so without a check a
hostile page could open a session with a visitor's cookies. Patterns follow Django's
``ALLOWED_HOSTS``: ``example.com``, ``.example.com`` (and subdomains), ``*``, on the port the
request came in on (another port of the same host is another site's page, and a same-site one:
it would get the visitor's cookies); a pattern with a scheme (``https://example.com:8443``) must
match the whole origin. The request's own host (its ``Host`` header) is always allowed.

Which hosts a service answers to: the ``Host`` header, checked against ``ALLOWED_HOSTS`` as
Django checks it (:func:`host_allowed`). Without it, a page whose name an attacker points at the
server (DNS rebinding: ``evil.example`` resolving to an intranet address) would be the request's
own host, its origin allowed, and its sessions opened.
"""

from __future__ import annotations

import re
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


def request_host(request: Request, forwarded: bool = False) -> str:
    """The host a request names, as Django's ``HttpRequest.get_host`` reads it: the
    ``X-Forwarded-Host`` header when ``forwarded`` (``USE_X_FORWARDED_HOST``), else ``Host``,
    else the server's name and port (PEP 3333)."""
    headers = request.headers
    if forwarded and "x-forwarded-host" in headers:
        return headers["x-forwarded-host"]
    if "host" in headers:
        return headers["host"]
    default = "443" if request.scheme == "https" else "80"
    port = request.server_port
    return request.server_name + ("" if port == default else ":" + port)


def host_allowed(request: Request, allowed: Iterable[str] | None, forwarded: bool = False) -> bool:
    """Whether the request's host (:func:`request_host`) is one of ``allowed``, patterns as
    Django's ``ALLOWED_HOSTS`` (``example.com``, ``.example.com`` and its subdomains, ``*``),
    the host first checked to be a host name or an IP address with an optional port, as
    Django's ``validate_host`` does; ``allowed`` None means any host."""
    if allowed is None:
        return True
    domain = host_domain(request_host(request, forwarded))
    if not domain:
        return False
    for pattern in allowed:
        pattern = pattern.lower()
        if pattern == "*" or domain == pattern:
            return True
        if pattern.startswith(".") and (domain.endswith(pattern) or domain == pattern[1:]):
            return True
    return False


_HOST = re.compile(r"([a-z0-9.-]+|\[[a-f0-9]*:[a-f0-9.:]+\])(?::([0-9]+))?")


def host_domain(host: str) -> str:
    """The domain of a ``Host`` value, lower case, without its port or a trailing dot; empty
    when it is not a host name or IP address (Django's ``split_domain_port``)."""
    found = _HOST.fullmatch(host.lower())
    if found is None:
        return ""
    return found[1].removesuffix(".")


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
