"""``xhr`` (polling) and ``xhr_send``."""

from __future__ import annotations

from ..http import Response
from .base import ReceivingTransport, SendingTransport


class XhrPolling(ReceivingTransport):
    url = "xhr"
    name = "xhr-polling"
    methods = ("POST",)
    cors = True
    content_type = "application/javascript;charset=UTF-8"

    def wrap(self, frame: str) -> bytes:
        return (frame + "\n").encode("utf-8")


class XhrSend(SendingTransport):
    url = "xhr_send"
    name = "xhr-send"
    methods = ("POST",)
    cors = True

    def success(self) -> Response:
        # text/plain even on a 204: Firefox otherwise guesses XML and complains.
        return Response(204, [("Content-Type", "text/plain;charset=UTF-8"), *self.base_headers()])
