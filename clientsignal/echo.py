"""The SockJS services of the official protocol suite, and a WSGI app that serves them.

Run the suite's server, no Django needed::

    gunicorn -k geventwebsocket.gunicorn.workers.GeventWebSocketWorker -b 127.0.0.1:8081 \\
        clientsignal.echo:application

then point ``sockjs-protocol.py`` at ``http://127.0.0.1:8081``. With several workers, set
``CLIENTSIGNAL_ECHO_REDIS=redis://...`` so that they share HTTP sessions through Redis.
"""

from __future__ import annotations

import json
import mimetypes
import os
from pathlib import Path
from typing import Any

from .sockjs_protocol import Request, SockJSConnection
from .wsgi import ClientSignalMiddleware

STATIC_ROOT = Path(__file__).parent / "static"
STATIC_URL = "/static/"


class EchoConnection(SockJSConnection):
    """Sends every message back."""

    def on_message(self, message: str) -> None:
        self.send(message)


class CloseConnection(SockJSConnection):
    """Closes every session as soon as it opens, with ``c[3000,"Go away!"]``."""

    def on_open(self, request: Request) -> None:
        self.close(3000, "Go away!")


class DisabledWebsocketEchoConnection(EchoConnection):
    sockjs_options = {"websocket": False}


class CookieNeededEchoConnection(EchoConnection):
    sockjs_options = {"cookie_needed": True}


PROTOCOL_TEST_SERVICES: dict[str, type[SockJSConnection]] = {
    "/echo": EchoConnection,
    "/close": CloseConnection,
    "/disabled_websocket_echo": DisabledWebsocketEchoConnection,
    "/cookie_needed_echo": CookieNeededEchoConnection,
}

# The suite expects streaming responses to end after 4 KiB instead of 128 KiB; echoing 100 KB
# messages (our transport tests do) needs more than the default 64 KiB message limit. The
# suite's HTTP client keeps no cookies, so sessions are not bound to one (see
# sockjs_protocol/binding.py), and it opens many sessions from one address quickly.
# CLIENTSIGNAL_ECHO_OPTIONS (JSON) overrides options, e.g. a short heartbeat for tests.
PROTOCOL_TEST_OPTIONS = {
    "max_message_size": 1024 * 1024,
    "response_limit": 4096,
    "sockjs_url": STATIC_URL + "clientsignal/sockjs.min.js",
    "bind_sessions": False,
    "max_sessions_per_address": 0,
    "max_message_rate": 0,
}

TEST_PAGE = b"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>clientsignal echo</title>
<script src="/static/clientsignal/sockjs.min.js"></script></head>
<body><h1>clientsignal echo test page</h1></body></html>
"""


def static_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """``GET /``: a test page loading sockjs-client; ``/static/...``: package static files."""
    path = environ.get("PATH_INFO", "")
    if path == "/":
        return _send(start_response, "200 OK", "text/html; charset=utf-8", TEST_PAGE)
    if path.startswith(STATIC_URL):
        root = STATIC_ROOT.resolve()
        target = (root / path[len(STATIC_URL) :]).resolve()
        if target.is_file() and root in target.parents:
            content_type = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
            return _send(start_response, "200 OK", content_type, target.read_bytes())
    return _send(start_response, "404 Not Found", "text/plain", b"Not found.")


def _send(start_response: Any, status: str, content_type: str, body: bytes) -> list[bytes]:
    start_response(status, [("Content-Type", content_type), ("Content-Length", str(len(body)))])
    return [body]


application = ClientSignalMiddleware(
    static_app,
    PROTOCOL_TEST_SERVICES,
    options={
        **PROTOCOL_TEST_OPTIONS,
        **json.loads(os.environ.get("CLIENTSIGNAL_ECHO_OPTIONS", "{}")),
    },
    sessions_url=os.environ.get("CLIENTSIGNAL_ECHO_REDIS") or None,
)
