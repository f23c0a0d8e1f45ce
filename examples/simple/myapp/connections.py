"""The README's example, as written: a connections module, imported when Django starts."""

from django.dispatch import receiver

import clientsignal
from clientsignal import Signal


# Create a signal connection (or use clientsignal.SignalConnection)
class PingSignalConnection(clientsignal.SignalConnection):
    pass


# Create Signals
ping = Signal(providing_args=["ping"])
pong = Signal(providing_args=["pong"])

# Register them to broadcast to clients or listen from clients on a
# SignalConnection
PingSignalConnection.listen("ping", ping)
PingSignalConnection.broadcast("pong", pong)


# Define a normal Django signal receiver for the remote signal
@receiver(ping)
def handle_ping(sender, **kwargs):
    # Send a signal to connected clients
    pong.send(sender=None, pong="Ponged")
