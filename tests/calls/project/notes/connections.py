"""Calls answered by receivers, and notes announced once their transaction commits."""

import time
from dataclasses import dataclass

from clientsignal import Signal, SignalConnection


@dataclass
class Line:
    sku: str
    qty: int = 1


@dataclass
class Order:
    lines: list[Line]
    note: str | None = None


add = Signal(providing_args=["a", "b"])
boom = Signal(providing_args=[])
slow = Signal(providing_args=["seconds"])
saved = Signal(providing_args=["text"])
order = Signal(schema=Order)


class NotesConnection(SignalConnection):
    pass


NotesConnection.listen("add", add)
NotesConnection.listen("boom", boom)
NotesConnection.listen("slow", slow)
NotesConnection.listen("order", order)
NotesConnection.broadcast("saved", saved)


def adding(sender, a, b, **kwargs):
    return a + b


def exploding(sender, **kwargs):
    raise RuntimeError("the secret internals of the server")


def sleeping(sender, seconds, **kwargs):
    time.sleep(min(float(seconds), 10))
    return "slept"


def ordering(sender, lines, note, **kwargs):
    return {"units": sum(line.qty for line in lines), "note": note}


add.connect(adding, weak=False)
order.connect(ordering, weak=False)
boom.connect(exploding, weak=False)
slow.connect(sleeping, weak=False)
