"""clientsignal: Django signals as browser events, over SockJS in gunicorn's gevent workers."""

from .backends.redis import RedisSignalConnection
from .connection import BaseSignalConnection, SignalConnection, broadcast, listen
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
    "signal_object_hook",
]
