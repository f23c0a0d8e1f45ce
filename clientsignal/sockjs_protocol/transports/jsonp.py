"""``jsonp`` (polling through ``<script>`` tags) and ``jsonp_send`` (form posts)."""

from __future__ import annotations

import json
from urllib.parse import parse_qs

from ..http import Response
from .base import CallbackMixin, ReceivingTransport, SendingTransport


class JsonpPolling(CallbackMixin, ReceivingTransport):
    url = "jsonp"
    name = "jsonp-polling"
    methods = ("GET",)
    content_type = "application/javascript;charset=UTF-8"

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._callback = self.callback()

    def wrap(self, frame: str) -> bytes:
        # "/**/" first: a callback name cannot then start a Flash/content-sniffing attack.
        return ("/**/%s(%s);\r\n" % (self._callback, json.dumps(frame))).encode("utf-8")


class JsonpSend(SendingTransport):
    url = "jsonp_send"
    name = "jsonp-send"
    methods = ("POST",)

    def payload(self) -> bytes:
        content_type = self.request.headers.get("content-type", "")
        if content_type.split(";")[0].strip().lower() == "application/x-www-form-urlencoded":
            form = parse_qs(
                self.request.body.decode("latin-1"), keep_blank_values=True, encoding="latin-1"
            )
            values = form.get("d")
            # Decoded byte for byte (latin-1) so the UTF-8 payload survives intact.
            return values[0].encode("latin-1") if values else b""
        return self.request.body

    def success(self) -> Response:
        # A body, not a 204: Konqueror mishandles empty answers to form posts.
        headers = [("Content-Type", "text/plain;charset=UTF-8"), *self.base_headers()]
        return Response(200, headers, b"ok")
