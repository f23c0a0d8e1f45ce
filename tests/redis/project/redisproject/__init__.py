"""Connections and signals of the Redis test project."""

import os

from clientsignal import Signal, SignalConnection

tick = Signal(providing_args=["n", "origin"])
echo = Signal(providing_args=["text"])


class TickConnection(SignalConnection):
    def on_open(self, request):
        super().on_open(request)
        self.send("hello", {"pid": os.getpid()})


TickConnection.broadcast("tick", tick)
TickConnection.listen("echo", echo)


def answer(sender, connection, text, **kwargs):
    connection.send("echo", {"text": text})


echo.connect(answer, weak=False)
