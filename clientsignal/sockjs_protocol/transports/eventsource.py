"""``eventsource``: Server-Sent Events."""

from __future__ import annotations

from .base import ReceivingTransport


class EventSource(ReceivingTransport):
    url = "eventsource"
    name = "eventsource"
    methods = ("GET",)
    content_type = "text/event-stream"
    streaming = True

    def prelude(self) -> bytes:
        # An empty line first: old Opera ignored the first event otherwise.
        return b"\r\n"

    def wrap(self, frame: str) -> bytes:
        # Frames are JSON-escaped, so they never hold a newline that would split the event.
        return b"data: " + frame.encode("utf-8") + b"\r\n\r\n"
