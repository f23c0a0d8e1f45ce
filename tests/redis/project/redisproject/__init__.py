"""Connections and signals of the Redis test project (on the in-process backend too: see
settings.py)."""

import os

import clientsignal
from clientsignal import Signal, SignalConnection

tick = Signal(providing_args=["n", "origin"])
tock = Signal(providing_args=["origin"])
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
        # Who the connection is and what it was told about the request that opened it.
        self.send(
            "hello",
            {
                "pid": os.getpid(),
                "id": self.id,
                "kwargs": self.kwargs,
                "host": self.request.get_host(),
                "scheme": self.request.scheme,
                "server": [self.request.META["SERVER_NAME"], self.request.META["SERVER_PORT"]],
                "path": self.request.path,
            },
        )


TickConnection.broadcast("tick", tick)
TickConnection.broadcast("tock", tock)
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


class SelectiveConnection(TickConnection):
    """Mounted on "/selective": receives only the events it names, broadcast or targeted."""

    def accepts(self, event):
        return event in ("tock", "news")


# -- the tests' remote control ------------------------------------------------------------------

do = Signal(providing_args=["action", "args"])


class ControlConnection(SignalConnection):
    """Mounted on "/control": a client that makes the server send, from inside a worker
    (the same path as a view or a task would take), then answers ``done``. Not a
    TickConnection, so it receives none of what it makes the server send."""


ControlConnection.listen("do", do)


def act(sender, connection, action, args, **kwargs):
    if action == "tick":
        for n in range(args.get("count", 1)):
            tick.send(sender=None, n=n, origin=args["origin"])
    elif action == "tock":
        tock.send(sender=None, origin=args["origin"])
    elif action == "group":
        clientsignal.send_to_group(args["group"], "news", {"text": args["text"]})
    elif action == "user":
        clientsignal.send_to_user(args["user"], "dm", {"text": args["text"]})
    elif action == "connection":
        clientsignal.send_to_connection(args["id"], "dm", {"text": args["text"]})
    elif action == "url":
        RoomConnection.send_to_url(args["kwargs"], "notice", {"text": args["text"]})
    elif action == "said":
        said.send(sender=None, room_id=args["room_id"], text=args["text"])
    else:
        raise ValueError(action)
    connection.send("done", {"action": action})


do.connect(act, weak=False)
