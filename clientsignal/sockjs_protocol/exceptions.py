"""Errors raised by the SockJS core.

Every error that reaches the I/O layer is a :class:`SockJSError`; the HTTP errors carry the
status code and the exact body text the protocol prescribes, so the I/O layer only renders them.
"""

from __future__ import annotations


class SockJSError(Exception):
    """Base class of every error raised by :mod:`clientsignal.sockjs_protocol`."""


class HTTPError(SockJSError):
    """A request the protocol answers with an error status and a plain-text body."""

    status = 500
    text = "Internal error."

    def __init__(self, text: str | None = None) -> None:
        super().__init__(text or self.text)
        if text is not None:
            self.text = text


class PayloadExpected(HTTPError):
    """``xhr_send``/``jsonp_send`` without a body (the spec's 500 answer)."""

    text = "Payload expected."


class BrokenJSON(HTTPError):
    """A body that is not a JSON array of strings (the spec's 500 answer)."""

    text = "Broken JSON encoding."


class CallbackRequired(HTTPError):
    """``jsonp``/``htmlfile`` without the ``c`` parameter."""

    text = '"callback" parameter required'


class InvalidCallback(HTTPError):
    """A ``c`` parameter with characters outside ``[a-zA-Z0-9-_.]``."""

    text = 'invalid "callback" parameter'


class PayloadTooLarge(HTTPError):
    """A request body over the configured limit."""

    status = 413
    text = "Payload too large."


class SessionNotFound(HTTPError):
    """A send to a session that does not exist (or is closed)."""

    status = 404
    text = "Session not found."


class TooManySessions(HTTPError):
    """The service's ``max_sessions`` are open in this process (a websocket: close 1013)."""

    status = 503
    text = "Too many sessions."


class ShuttingDown(HTTPError):
    """The service is closing its sessions (SIGTERM): new ones go to another worker
    (a websocket: close 1001)."""

    status = 503
    text = "Server shutting down."


class TooManyFromAddress(HTTPError):
    """``max_sessions_per_address`` are open from the client's address (a websocket: close
    4429)."""

    status = 429
    text = "Too many sessions from this address."
