"""The README's ping/pong: a browser's ping fires a Django signal, whose receiver broadcasts
a pong to every browser."""

from django.dispatch import receiver

import clientsignal
from clientsignal import Signal


class PingSignalConnection(clientsignal.SignalConnection):
    pass


ping = Signal(providing_args=["ping"])
pong = Signal(providing_args=["pong"])
PingSignalConnection.listen("ping", ping)
PingSignalConnection.broadcast("pong", pong)


@receiver(ping)
def handle_ping(sender: object, **kwargs: object) -> None:
    pong.send(sender=None, pong="Ponged")
