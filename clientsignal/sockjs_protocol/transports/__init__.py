"""One module per SockJS transport; :data:`TRANSPORTS` maps URL names to classes."""

from __future__ import annotations

from .base import ReceivingTransport, SendingTransport, Transport
from .eventsource import EventSource
from .htmlfile import HtmlFile
from .jsonp import JsonpPolling, JsonpSend
from .websocket import RawWebSocket, WebSocket
from .xhr import XhrPolling, XhrSend
from .xhrstreaming import XhrStreaming

TRANSPORTS: dict[str, type[Transport]] = {
    cls.name: cls
    for cls in (
        WebSocket,
        XhrPolling,
        XhrSend,
        XhrStreaming,
        EventSource,
        HtmlFile,
        JsonpPolling,
        JsonpSend,
    )
}

__all__ = [
    "TRANSPORTS",
    "EventSource",
    "HtmlFile",
    "JsonpPolling",
    "JsonpSend",
    "RawWebSocket",
    "ReceivingTransport",
    "SendingTransport",
    "Transport",
    "WebSocket",
    "XhrPolling",
    "XhrSend",
    "XhrStreaming",
]
