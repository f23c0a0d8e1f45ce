"""A client sends "broadcast" (or "echo"); the server broadcasts to every client (or answers).

``HistoryBenchConnection`` is the same with ``history`` on (``/bench-history``): every
broadcast is kept in its channel's stream before it is delivered, so the fan-out scenario
measures what history costs a broadcast, in the same run as ``BenchConnection`` without it.
It is a sibling, not a subclass: a subclass with history would make its parent's broadcasts
keep history too (they reach the subclass's connections).
"""

from clientsignal import BaseSignalConnection, Signal

trigger = Signal(providing_args=["t", "payload"])
tick = Signal(providing_args=["t", "payload"])
echo = Signal(providing_args=["t", "payload"])
history_trigger = Signal(providing_args=["t", "payload"])
history_tick = Signal(providing_args=["t", "payload"])

HISTORY = {"size": 100, "ttl": 300}


class BenchConnection(BaseSignalConnection):
    pass


class HistoryBenchConnection(BaseSignalConnection):
    history = HISTORY


BenchConnection.listen("broadcast", trigger)
BenchConnection.listen("echo", echo)
BenchConnection.broadcast("tick", tick)
HistoryBenchConnection.listen("broadcast", history_trigger)
HistoryBenchConnection.listen("echo", echo)
HistoryBenchConnection.broadcast("tick", history_tick)


def _fan_out(sender, t, payload, **kwargs):
    tick.send(sender=None, t=t, payload=payload)


def _fan_out_with_history(sender, t, payload, **kwargs):
    history_tick.send(sender=None, t=t, payload=payload)


def _echo(sender, connection, t, payload, **kwargs):
    connection.send("echo", {"t": t, "payload": payload})


trigger.connect(_fan_out, weak=False)
history_trigger.connect(_fan_out_with_history, weak=False)
echo.connect(_echo, weak=False)
