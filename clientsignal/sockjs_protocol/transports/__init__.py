"""One module per SockJS transport; :data:`TRANSPORTS` maps URL segments to classes.

Each transport has one name, the one sockjs-client reports (``xhr-streaming``), used in
stats, logs and ``connection.transport``; its ``url`` is the segment of its session URL
(``xhr_streaming``). The client's ``iframe-*`` transports use the same URLs as the plain
ones, so the server sees them under the plain names.
"""

from __future__ import annotations

from .base import ReceivingTransport, SendingTransport, Transport
from .eventsource import EventSource
from .htmlfile import HtmlFile
from .jsonp import JsonpPolling, JsonpSend
from .websocket import RawWebSocket, WebSocket
from .xhr import XhrPolling, XhrSend
from .xhrstreaming import XhrStreaming

TRANSPORTS: dict[str, type[Transport]] = {
    cls.url: cls
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
