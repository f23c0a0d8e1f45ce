"""``htmlfile``: a never-ending HTML page of ``<script>`` tags calling the parent's callback."""

from __future__ import annotations

import json

from .base import CallbackMixin, ReceivingTransport

_HEAD = """<!doctype html>
<html><head>
  <meta http-equiv="X-UA-Compatible" content="IE=edge" />
  <meta http-equiv="Content-Type" content="text/html; charset=UTF-8" />
</head><body><h2>Don't panic!</h2>
  <script>
    document.domain = document.domain;
    var c = parent.%s;
    c.start();
    function p(d) {c.message(d);};
    window.onload = function() {c.stop();};
  </script>"""

# Browsers render (and run scripts of) a streamed page only after its first 1 KiB.
_MIN_PRELUDE = 1024


class HtmlFile(CallbackMixin, ReceivingTransport):
    url = "htmlfile"
    name = "htmlfile"
    methods = ("GET",)
    content_type = "text/html;charset=UTF-8"
    streaming = True

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._callback = self.callback()

    def prelude(self) -> bytes:
        head = _HEAD % self._callback
        return (head + " " * max(0, _MIN_PRELUDE + 1 - len(head)) + "\r\n\r\n").encode("utf-8")

    def wrap(self, frame: str) -> bytes:
        # "<" escaped so that a message holding "</script>" cannot end the script element.
        literal = json.dumps(frame).replace("<", "\\u003c")
        return ("<script>\np(" + literal + ");\n</script>\r\n").encode("utf-8")
