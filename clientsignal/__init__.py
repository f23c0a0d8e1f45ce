"""clientsignal: Django signals as browser events, over SockJS in gunicorn's gevent workers."""

from .connection import (
    BaseSignalConnection,
    RedisSignalConnection,
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
