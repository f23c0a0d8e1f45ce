"""A sans-I/O SockJS 0.3.3 server: frames, sessions, transports and routing as plain code.

Nothing here touches a socket or a clock. :class:`SockJSServer` turns a :class:`Request`
into a :class:`Response`, a :class:`Stream` to follow, or an :class:`Upgrade`; the I/O layer
(``clientsignal.gevent_io``) writes what it is told and calls back at the deadlines it is given.
"""

from .connection import SockJSConnection
from .exceptions import (
    BrokenJSON,
    CallbackRequired,
    HTTPError,
    InvalidCallback,
    PayloadExpected,
    PayloadTooLarge,
    SessionNotFound,
    ShuttingDown,
    SockJSError,
    TooManyFromAddress,
    TooManySessions,
)
from .frames import close_frame, decode_messages, encode_json, encode_message, message_frame
from .http import Request, Response
from .options import SockJSOptions
from .receiver import Pull, Receiver
from .server import SockJSServer, Stream, Target, Upgrade
from .session import Session, SessionStore

__all__ = [
    "BrokenJSON",
    "CallbackRequired",
    "HTTPError",
    "InvalidCallback",
    "PayloadExpected",
    "PayloadTooLarge",
    "Pull",
    "Receiver",
    "Request",
    "Response",
    "Session",
    "SessionNotFound",
    "SessionStore",
    "ShuttingDown",
    "SockJSConnection",
    "SockJSError",
    "SockJSOptions",
    "SockJSServer",
    "Stream",
    "Target",
    "TooManyFromAddress",
    "TooManySessions",
    "Upgrade",
    "close_frame",
    "decode_messages",
    "encode_json",
    "encode_message",
    "message_frame",
]
