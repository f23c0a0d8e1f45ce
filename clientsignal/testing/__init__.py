"""Test your connections and receivers like Django views: no server, no event loop to manage.

- :class:`SignalCommunicator` is a browser tab's connection to one of your connection
  classes, driven through the real SockJS core, authentication, encoder and backend.
- :class:`SignalLiveServerTestCase` (and :class:`SignalLiveServer`) serve the site and its
  connections on a free port for Playwright or Selenium tests.
- :func:`wait_delivered` returns once what was published so far has been delivered (on
  Redis: a round trip through the subscriber).
- ``clientsignal.testing.plugin`` has the same as pytest fixtures: ``signal_communicator``
  and ``signal_live_server``.

See docs/testing.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy import exports

__all__ = [
    "CallRejected",
    "ConnectResult",
    "NothingReceived",
    "ReceivedEvent",
    "SignalCommunicator",
    "SignalConnectionClosed",
    "SignalConnectionRefused",
    "SignalLiveServer",
    "SignalLiveServerTestCase",
    "wait_delivered",
]

_EXPORTS = {
    "CallRejected": ".communicator",
    "ConnectResult": ".communicator",
    "NothingReceived": ".communicator",
    "ReceivedEvent": ".communicator",
    "SignalCommunicator": ".communicator",
    "SignalConnectionClosed": ".communicator",
    "SignalConnectionRefused": ".communicator",
    "SignalLiveServer": ".live_server",
    "SignalLiveServerTestCase": ".live_server",
    "wait_delivered": ".delivery",
}

if TYPE_CHECKING:
    from .communicator import (
        CallRejected,
        ConnectResult,
        NothingReceived,
        ReceivedEvent,
        SignalCommunicator,
        SignalConnectionClosed,
        SignalConnectionRefused,
    )
    from .delivery import wait_delivered
    from .live_server import SignalLiveServer, SignalLiveServerTestCase


# Imported on first use: importing clientsignal.testing (from a conftest, say) must not need
# Django's settings yet.
__getattr__ = exports(__name__, _EXPORTS)
