"""Calls answered by receivers, and notes announced once their transaction commits."""

import time

from clientsignal import Signal, SignalConnection

add = Signal(providing_args=["a", "b"])
boom = Signal(providing_args=[])
slow = Signal(providing_args=["seconds"])
saved = Signal(providing_args=["text"])


class NotesConnection(SignalConnection):
    pass


NotesConnection.listen("add", add)
NotesConnection.listen("boom", boom)
NotesConnection.listen("slow", slow)
NotesConnection.broadcast("saved", saved)


def adding(sender, a, b, **kwargs):
    return a + b


def exploding(sender, **kwargs):
    raise RuntimeError("the secret internals of the server")


def sleeping(sender, seconds, **kwargs):
    time.sleep(min(float(seconds), 10))
    return "slept"


add.connect(adding, weak=False)
boom.connect(exploding, weak=False)
slow.connect(sleeping, weak=False)
