"""Connections and signals of the Redis test project."""

import os

from clientsignal import Signal, SignalConnection

tick = Signal(providing_args=["n", "origin"])
echo = Signal(providing_args=["text"])
join = Signal(providing_args=["group"])


class TestUser:
    """Who ``?as=<pk>`` says: the tests' stand-in for a logged-in user."""

    is_authenticated = True

    def __init__(self, pk):
        self.pk = pk

    def get_username(self):
        return "user%d" % self.pk


class TickConnection(SignalConnection):
    def get_user(self, request):
        if "as" in request.GET:
            return TestUser(int(request.GET["as"]))
        return super().get_user(request)

    def on_open(self, request):
        super().on_open(request)
        self.send("hello", {"pid": os.getpid(), "kwargs": self.kwargs})


TickConnection.broadcast("tick", tick)
TickConnection.listen("echo", echo)
TickConnection.listen("join", join)


def join_group(sender, connection, group, **kwargs):
    connection.join(group)
    connection.send("joined", {"group": group})


join.connect(join_group, weak=False)


def answer(sender, connection, text, **kwargs):
    connection.send("echo", {"text": text})


echo.connect(answer, weak=False)


said = Signal(providing_args=["room_id", "text"])
say = Signal(providing_args=["text"])


class RoomConnection(TickConnection):
    """Mounted on "/rooms/<int:room_id>": what is said in a room is heard in that room."""


RoomConnection.listen("say", say)
RoomConnection.broadcast("said", said, by=("room_id",))


def repeat(sender, connection, text, **kwargs):
    said.send(sender=None, room_id=connection.kwargs["room_id"], text=text)


say.connect(repeat, weak=False)


numbered = Signal(providing_args=["n", "origin"])


class HistoryConnection(SignalConnection):
    """Mounted on "/history": keeps its last messages for clients that reconnect."""

    history = {"size": 50, "ttl": 60}

    def on_open(self, request):
        super().on_open(request)
        self.send("hello", {"pid": os.getpid()})


HistoryConnection.broadcast("numbered", numbered)


class PresenceConnection(TickConnection):
    """Mounted on "/present": who is here, across workers, with join and leave events."""

    presence = True
    presence_events = True
