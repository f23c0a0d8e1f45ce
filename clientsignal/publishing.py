"""The one path of every server-side message: encode once, log on failure, publish.

Broadcasts, ``send_to_group``, ``send_to_user``, ``send_to_connection`` and ``send_to_url`` all
come here. The event is encoded once, with the sending class's encoder, into the SockJS
message literal every receiving session queues as it is; a failure to encode is logged and
never raised into the code that sent the signal.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .backends import BaseBackend, Envelope
from .sockjs_protocol import encode_message

if TYPE_CHECKING:
    from .connection import BaseSignalConnection

logger = logging.getLogger("clientsignal")

ChannelOf = Callable[[BaseBackend], str]
"""The channel a message goes to, named by the backend that carries it."""


def publish(
    cls: type[BaseSignalConnection],
    channel: ChannelOf,
    event: str,
    data: Any,
    *,
    exclude: str | None = None,
    to: str = "",
) -> bool:
    """Encode ``event`` with ``data`` once with ``cls``'s encoder and publish it through
    ``cls``'s backend; ``to`` names the target in the log line of a failure. False if it could
    not be encoded."""
    try:
        encoded = encode_message(cls.encode_event(event, {} if data is None else data))
    except Exception:
        logger.exception("%s: cannot encode event %r%s", cls.__name__, event, to and " for " + to)
        return False
    backend = cls.get_backend()
    backend.publish(channel(backend), Envelope(encoded, event, exclude))
    return True


def close(backends: list[BaseBackend], channel: ChannelOf, code: int, reason: str) -> None:
    """Close every connection on ``channel``, in every process of each backend."""
    for backend in backends:
        backend.publish(channel(backend), Envelope(close=(code, reason)))
