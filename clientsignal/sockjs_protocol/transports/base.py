"""What every transport shares: allowed methods, CORS, the response head and framing."""

from __future__ import annotations

import re
from typing import ClassVar

from ..exceptions import CallbackRequired, InvalidCallback
from ..http import Headers, Request, Response, cors_headers, no_cache_headers
from ..options import SockJSOptions

_CALLBACK = re.compile(r"^[a-zA-Z0-9_.\-]+$")


class Transport:
    """One transport, instantiated per request."""

    name: ClassVar[str]
    """The transport's name as sockjs-client reports it (``xhr-polling``)."""
    url: ClassVar[str]
    """The last segment of its session URLs (``xhr``)."""
    methods: ClassVar[tuple[str, ...]]
    cors: ClassVar[bool] = False
    """Answers CORS preflights (``OPTIONS``) and sends CORS headers."""
    websocket: ClassVar[bool] = False
    """Lives on one websocket connection: never stored, never addressed by a later request."""

    def __init__(self, request: Request, options: SockJSOptions) -> None:
        self.request = request
        self.options = options

    def base_headers(self) -> Headers:
        headers = no_cache_headers()
        if self.cors:
            headers += cors_headers(self.request)
        if self.options.cookie_needed:
            jsessionid = self.request.cookies.get("JSESSIONID", "dummy")
            headers.append(("Set-Cookie", "JSESSIONID=%s; path=/" % jsessionid))
        return headers


class ReceivingTransport(Transport):
    """A transport that carries frames to the client (a poll, a stream, a websocket)."""

    content_type: ClassVar[str] = ""
    streaming: ClassVar[bool] = False

    def headers(self) -> Headers:
        return [("Content-Type", self.content_type), *self.base_headers()]

    def prelude(self) -> bytes:
        """Bytes written, as their own chunk, before any frame."""
        return b""

    def wrap(self, frame: str) -> str | bytes:
        """One frame as the transport writes it."""
        raise NotImplementedError


class SendingTransport(Transport):
    """A transport that carries messages from the client (``xhr_send``, ``jsonp_send``)."""

    def payload(self) -> bytes:
        return self.request.body

    def success(self) -> Response:
        raise NotImplementedError


class CallbackMixin:
    """JSONP-style transports name a JavaScript callback in the ``c`` query parameter."""

    request: Request

    def callback(self) -> str:
        callback = self.request.query.get("c", "")
        if not callback:
            raise CallbackRequired()
        if not _CALLBACK.match(callback):
            raise InvalidCallback()
        return callback
