"""``websocket`` (SockJS framing over a websocket) and the raw ``/websocket`` endpoint."""

from __future__ import annotations

from ..http import Request, Response, text_response
from .base import ReceivingTransport


class WebSocket(ReceivingTransport):
    """Every frame is one websocket text message; no response limit."""

    url = "websocket"
    name = "websocket"
    methods = ("GET",)
    streaming = True
    websocket = True

    def wrap(self, frame: str) -> str:
        return frame


class RawWebSocket(WebSocket):
    """Plain messages, no SockJS framing: for programs rather than browsers."""

    url = "websocket"
    name = "raw-websocket"


def refuse_plain_http(request: Request) -> Response | None:
    """The answer to a websocket URL requested without a valid upgrade, or None if valid."""
    if request.headers.get("upgrade", "").lower() != "websocket":
        return text_response(400, 'Can "Upgrade" only to "WebSocket".')
    if "upgrade" not in request.headers.get("connection", "").lower():
        return text_response(400, '"Connection" must be "Upgrade".')
    return None
