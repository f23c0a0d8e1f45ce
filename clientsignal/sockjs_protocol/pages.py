"""The responses that need no session: greeting, ``/info`` and the iframe page."""

from __future__ import annotations

import hashlib
import random

from .frames import encode_json
from .http import (
    Request,
    Response,
    cache_headers,
    cors_headers,
    no_cache_headers,
)
from .options import SockJSOptions
from .origins import frame_ancestors

GREETING = b"Welcome to SockJS!\n"

_IFRAME = """<!DOCTYPE html>
<html>
<head>
  <meta http-equiv="X-UA-Compatible" content="IE=edge" />
  <meta http-equiv="Content-Type" content="text/html; charset=UTF-8" />
  <script src="%s"></script>
  <script>
    document.domain = document.domain;
    SockJS.bootstrap_iframe();
  </script>
</head>
<body>
  <h2>Don't panic!</h2>
  <p>This is a SockJS hidden iframe. It's used for cross domain magic.</p>
</body>
</html>"""

_entropy = random.SystemRandom()


def greeting() -> Response:
    return Response(200, [("Content-Type", "text/plain;charset=UTF-8")], GREETING)


def info(request: Request, options: SockJSOptions) -> Response:
    body = encode_json(
        {
            "websocket": options.websocket,
            "cookie_needed": options.cookie_needed,
            "origins": ["*:*"],
            "entropy": _entropy.getrandbits(32),
        }
    )
    headers = [
        ("Content-Type", "application/json;charset=UTF-8"),
        *no_cache_headers(),
        *cors_headers(request),
    ]
    return Response(200, headers, body.encode("utf-8"))


class IframePage:
    """The iframe page for one ``sockjs_url``, with its ETag computed once."""

    def __init__(self, sockjs_url: str, allowed_origins: tuple[str, ...] | None = None) -> None:
        self.body = (_IFRAME % sockjs_url.replace('"', "&quot;")).encode("utf-8")
        self.etag = '"%s"' % hashlib.md5(self.body, usedforsecurity=False).hexdigest()
        self.allowed_origins = allowed_origins

    def response(self, request: Request) -> Response:
        # Only allowed pages may embed the iframe: inside it, requests are same-origin.
        security = []
        if self.allowed_origins is not None:
            policy = frame_ancestors(request, self.allowed_origins)
            security.append(("Content-Security-Policy", policy))
        if request.headers.get("if-none-match") == self.etag:
            return Response(304, [("ETag", self.etag), *cache_headers(request.date), *security])
        headers = [
            ("Content-Type", "text/html;charset=UTF-8"),
            ("ETag", self.etag),
            *cache_headers(request.date),
            *security,
        ]
        return Response(200, headers, self.body)
