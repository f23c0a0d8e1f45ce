"""The README's ping/pong, and a call that answers what the connection's request says of its
client: the address (behind nginx, the client's, from X-Forwarded-For) and the scheme."""

from typing import Any

from django.dispatch import receiver

import clientsignal
from clientsignal import Signal


class PingConnection(clientsignal.SignalConnection):
    pass


ping = Signal(providing_args=["ping"])
pong = Signal(providing_args=["pong"])
whoami = Signal(providing_args=[])
PingConnection.listen("ping", ping)
PingConnection.broadcast("pong", pong)
PingConnection.listen("whoami", whoami)


@receiver(ping)
def handle_ping(sender: Any, **kwargs: Any) -> None:
    pong.send(sender=None, pong="Ponged")


@receiver(whoami)
def who_am_i(sender: Any, connection: Any, **kwargs: Any) -> dict[str, Any]:
    request = connection.request
    return {"address": request.META["REMOTE_ADDR"], "secure": request.is_secure()}
