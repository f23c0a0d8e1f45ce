"""clientsignal: Django signals as browser events, over SockJS in gunicorn's gevent workers.

The public names are imported on first use: importing the package alone (as gunicorn does
with ``-c python:clientsignal.gunicorn_conf``, in its master, before its gevent workers patch
the standard library) must not import Django's database layer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .lazy import exports

__version__ = "0.2.0.dev0"

_EXPORTS = {
    "BaseSignalConnection": ".connection",
    "RedisSignalConnection": ".connection",
    "SignalConnection": ".connection",
    "broadcast": ".connection",
    "listen": ".connection",
    "presence": ".connection",
    "reauthenticate": ".revocation",
    "send_to_connection": ".connection",
    "send_to_group": ".connection",
    "send_to_user": ".connection",
    "SignalEncoder": ".encoding",
    "signal_object_hook": ".encoding",
    "Signal": ".signals",
}

__all__ = [
    "BaseSignalConnection",
    "RedisSignalConnection",
    "Signal",
    "SignalConnection",
    "SignalEncoder",
    "broadcast",
    "listen",
    "presence",
    "reauthenticate",
    "send_to_connection",
    "send_to_group",
    "send_to_user",
    "signal_object_hook",
]

if TYPE_CHECKING:
    from .connection import (
        BaseSignalConnection,
        RedisSignalConnection,
        SignalConnection,
        broadcast,
        listen,
        presence,
        send_to_connection,
        send_to_group,
        send_to_user,
    )
    from .encoding import SignalEncoder, signal_object_hook
    from .revocation import reauthenticate
    from .signals import Signal


__getattr__ = exports(__name__, _EXPORTS)
