"""clientsignal: Django signals as browser events, over SockJS in gunicorn's gevent workers."""

from .connection import (
    BaseSignalConnection,
    SignalConnection,
    broadcast,
    listen,
    send_to_connection,
    send_to_group,
    send_to_user,
)
from .encoding import SignalEncoder, signal_object_hook
from .signals import Signal

__version__ = "0.1.0"

__all__ = [
    "BaseSignalConnection",
    "RedisSignalConnection",
    "Signal",
    "SignalConnection",
    "SignalEncoder",
    "broadcast",
    "listen",
    "send_to_connection",
    "send_to_group",
    "send_to_user",
    "signal_object_hook",
]


def __getattr__(name: str) -> object:
    # Imported on first use: redis-py (and its ssl import) only for projects that use it.
    if name == "RedisSignalConnection":
        from .backends.redis import RedisSignalConnection

        return RedisSignalConnection
    raise AttributeError("module 'clientsignal' has no attribute %r" % name)
