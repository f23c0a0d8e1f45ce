"""Django signals as browser events: the connection classes and the module-level API.

- :mod:`.base`: :class:`BaseSignalConnection` (registries, dispatch, authentication, the hooks
  an application overrides) and the ready-made classes;
- :mod:`.feeds`: what one connection receives, computed once as it opens;
- :mod:`.registries`, :mod:`.logs`: each class's listened and broadcast signals; the
  connections' loggers;
- :mod:`.recovery`, :mod:`.places`, :mod:`.reauthentication`: the helpers a connection holds
  for its history, its places and the checks of its user;
- :mod:`.api`: ``listen``, ``broadcast``, ``send_to_*`` and ``presence`` on
  :class:`SignalConnection`.
"""

from __future__ import annotations

from .api import (
    broadcast,
    listen,
    presence,
    send_to_connection,
    send_to_group,
    send_to_user,
)
from .base import (
    FORBIDDEN,
    LOGGED_OUT,
    LOGIN_REQUIRED,
    RESERVED_KEYS,
    TOO_MANY_FOR_USER,
    BaseSignalConnection,
    RedisSignalConnection,
    SignalConnection,
    StatsConnection,
)
from .logs import new_log_episodes

__all__ = [
    "FORBIDDEN",
    "LOGGED_OUT",
    "LOGIN_REQUIRED",
    "RESERVED_KEYS",
    "TOO_MANY_FOR_USER",
    "BaseSignalConnection",
    "RedisSignalConnection",
    "SignalConnection",
    "StatsConnection",
    "broadcast",
    "listen",
    "new_log_episodes",
    "presence",
    "send_to_connection",
    "send_to_group",
    "send_to_user",
]
