"""``xhr_streaming``: one long POST response carrying newline-separated frames."""

from __future__ import annotations

from .xhr import XhrPolling

# Browsers buffer the first 2 KiB of an XHR response before they fire progress events.
PRELUDE = b"h" * 2048 + b"\n"


class XhrStreaming(XhrPolling):
    url = "xhr_streaming"
    name = "xhr-streaming"
    streaming = True

    def prelude(self) -> bytes:
        return PRELUDE
