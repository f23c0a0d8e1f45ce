"""The connection classes the attacks aim at.

Every listened signal's receiver writes a log line when it runs (``receiver ran: ...``), so a
test can prove from the server's log that a forged message never reached it.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import clientsignal
from clientsignal import Signal

logger = logging.getLogger("attackproject")

ping = Signal(providing_args=["n"])
shout = Signal(providing_args=["text"])
infinite = Signal(providing_args=[])
boom = Signal(providing_args=[])
shouted = Signal(providing_args=["text", "value"])
numbered = Signal(providing_args=["n"])


class PrivateConnection(clientsignal.SignalConnection):
    """Logged-in users only; joined to its user's channel, so ``send_to_user`` reaches it."""

    login_required = True


class StrictConnection(PrivateConnection):
    """Logged-in users, whose session is checked again before every event they send."""

    user_check_interval = 0


class OpenConnection(clientsignal.SignalConnection):
    """Anonymous clients welcome (their HTTP sessions are bound to a ``sockjs_key``)."""


class RoomConnection(clientsignal.SignalConnection):
    """``/chat/<int:room_id>``: its pong says which room the session was opened on."""


class HistoryConnection(clientsignal.SignalConnection):
    """``/history``: keeps its last messages for clients that reconnect; says which worker
    it is on and which connection it is."""

    history = {"size": 1000, "ttl": 600}

    def on_open(self, request: Any) -> None:
        super().on_open(request)
        if not self.is_closed:
            self.send("hello", {"pid": os.getpid(), "id": self.id})


HistoryConnection.broadcast("numbered", numbered)


class WelcomedConnection(HistoryConnection):
    """``/welcomed``: something is sent to each connection as it opens (through the backend:
    kept in its own stream, as anything sent to one connection of a history class is)."""

    def on_open(self, request: Any) -> None:
        super().on_open(request)
        if not self.is_closed:
            clientsignal.send_to_connection(self.id, "welcome", {"id": self.id})


for cls in (
    PrivateConnection,
    StrictConnection,
    OpenConnection,
    RoomConnection,
    HistoryConnection,
):
    cls.listen("ping", ping)
    cls.listen("shout", shout)
    cls.listen("infinite", infinite)
    cls.listen("boom", boom)
OpenConnection.broadcast("shouted", shouted)


def on_ping(sender: Any, connection: Any, n: Any = None, **kwargs: Any) -> None:
    logger.info("receiver ran: ping n=%r user=%s", n, sender)
    connection.send(
        "pong",
        {
            "sender": str(sender),
            "n": n,
            "pid": os.getpid(),
            "room": connection.kwargs.get("room_id"),
        },
    )


def on_shout(sender: Any, connection: Any, text: str = "", **kwargs: Any) -> None:
    logger.info("receiver ran: shout text=%r", text)
    shouted.send(sender=None, text=text)


def on_infinite(sender: Any, connection: Any, **kwargs: Any) -> None:
    logger.info("receiver ran: infinite")
    shouted.send(sender=None, text="infinite", value=float("inf"))


def on_boom(sender: Any, connection: Any, **kwargs: Any) -> None:
    logger.info("receiver ran: boom")
    raise ValueError("secret-detail-4711 in /srv/app/settings.py")


ping.connect(on_ping, weak=False)
shout.connect(on_shout, weak=False)
infinite.connect(on_infinite, weak=False)
boom.connect(on_boom, weak=False)
