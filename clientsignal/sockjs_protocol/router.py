"""The URL scheme under a service prefix, as a table."""

from __future__ import annotations

import re
from dataclasses import dataclass

# Server and session ids: any non-empty segment without dots.
_SESSION_URL = re.compile(r"^/([^/.]+)/([^/.]+)/([^/]+)$")
_IFRAME = re.compile(r"^/iframe[0-9A-Za-z._-]*\.html$")


@dataclass(frozen=True)
class Route:
    """What a path means: ``kind`` is one of ``greeting``, ``info``, ``iframe``,
    ``raw_websocket``, ``session`` or ``not_found``; session routes name their transport."""

    kind: str
    session_id: str = ""
    transport: str = ""


NOT_FOUND = Route("not_found")


def route(path: str) -> Route:
    """Route ``path``, relative to the service prefix (``""``, ``/info``, ``/0/abc/xhr``)."""
    if path in ("", "/"):
        return Route("greeting")
    if path == "/info":
        return Route("info")
    if path == "/websocket":
        return Route("raw_websocket")
    if _IFRAME.match(path):
        return Route("iframe")
    match = _SESSION_URL.match(path)
    if match:
        return Route("session", session_id=match.group(2), transport=match.group(3))
    return NOT_FOUND
