"""Sessions bound to the client that opened them.

SockJS lets the client choose its session id, and every later HTTP request of a session
(a send, a poll, a stream) names it in its URL. Without a check, whoever learns an id (from a
log, a proxy, a shoulder) can send as that client and take its messages. So a session keeps a
digest of its opener's credential, and a later request is accepted only with the same one.

The credential is a cookie, since a cookie is the one thing every sockjs-client transport
sends back (XHR with credentials, ``<script>`` tags, forms and the iframe's same-origin
requests): an identity cookie of the application where the client has one (Django's session
cookie), else a random key the server sets, ``HttpOnly`` and ``SameSite=Lax``, on the response
that opens the session. Websocket sessions need none: their id is never used again after the
handshake.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from .http import Request

KEY_COOKIE = "sockjs_key"


def credential(request: Request, identity_cookies: tuple[str, ...]) -> str | None:
    """The digest of the request's credential: its first identity cookie, else its key
    cookie; None when it carries neither."""
    cookies = request.cookies
    for name in (*identity_cookies, KEY_COOKIE):
        value = cookies.get(name)
        if value:
            return _digest(name, value)
    return None


def new_key(request: Request) -> tuple[str, tuple[str, str]]:
    """A fresh key: its credential digest and the ``Set-Cookie`` header that gives it to the
    client (``Secure`` when the request came over HTTPS)."""
    key = secrets.token_urlsafe(24)
    secure = "; Secure" if request.scheme == "https" else ""
    cookie = "%s=%s; Path=/; HttpOnly; SameSite=Lax%s" % (KEY_COOKIE, key, secure)
    return _digest(KEY_COOKIE, key), ("Set-Cookie", cookie)


def same_client(bound: str | None, request_credential: str | None) -> bool:
    """Whether a request's credential is the one a session was opened with."""
    if bound is None:
        return True
    return request_credential is not None and hmac.compare_digest(bound, request_credential)


def _digest(name: str, value: str) -> str:
    return hashlib.sha256(("%s\0%s" % (name, value)).encode("utf-8", "surrogatepass")).hexdigest()
