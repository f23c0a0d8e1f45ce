"""A client sends "broadcast" (or "echo"); the server broadcasts to every client (or answers)."""

from clientsignal import BaseSignalConnection, Signal

trigger = Signal(providing_args=["t", "payload"])
tick = Signal(providing_args=["t", "payload"])
echo = Signal(providing_args=["t", "payload"])


class BenchConnection(BaseSignalConnection):
    pass


BenchConnection.listen("broadcast", trigger)
BenchConnection.listen("echo", echo)
BenchConnection.broadcast("tick", tick)


def _fan_out(sender, t, payload, **kwargs):
    tick.send(sender=None, t=t, payload=payload)


def _echo(sender, connection, t, payload, **kwargs):
    connection.send("echo", {"t": t, "payload": payload})


trigger.connect(_fan_out, weak=False)
echo.connect(_echo, weak=False)
