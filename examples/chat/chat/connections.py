"""The chat: logged-in users only, in numbered rooms; what one says, everyone in the room sees.

Two endpoints per page, which share one SockJS session when multiplexing is on
(``CLIENTSIGNAL_MULTIPLEX`` in the settings): the room (``/chat/<int:room_id>``) and the lobby
(``/lobby``), which shows how many people are in each room.

A room keeps its last lines (``history``): a page that loses its connection for a while gets
what was said meanwhile when it is back, once, in order. Who is in a room is its
``presence``, across every worker and machine; ``join`` and ``leave`` events tell the others.
The page asks who is there with a call (``sock.call('who')``), answered by a receiver's return
value.
"""

from django.contrib.auth import get_user_model
from django.dispatch import receiver

from clientsignal import Signal, SignalConnection, send_to_user

from .views import ROOMS

# From browsers: a line of text, a whisper to one user (all of their tabs), who is here?
say = Signal(providing_args=["text"])
whisper = Signal(providing_args=["to", "text"])
who = Signal(providing_args=[])
# To browsers: a line said in a room, and the rooms' occupancy.
message = Signal(providing_args=["room_id", "user", "text"])
rooms = Signal(providing_args=["counts"])


class ChatConnection(SignalConnection):
    """One room: ``self.kwargs["room_id"]`` comes from the URL."""

    login_required = True
    history = {"size": 200, "ttl": 600}
    presence = True
    presence_events = True

    def on_open(self, request):
        super().on_open(request)
        if not self.is_closed:
            rooms.send(sender=None, counts=occupancy())

    def on_close(self):
        super().on_close()
        if "room_id" in self.kwargs:
            rooms.send(sender=None, counts=occupancy())


def occupancy():
    """People in each room, by room number (as a string: a JSON object key)."""
    return {str(room): len(ChatConnection.present(room_id=room)) for room in ROOMS}


class LobbyConnection(SignalConnection):
    """The lobby: the rooms' occupancy, sent on open and whenever it changes."""

    login_required = True

    def on_open(self, request):
        super().on_open(request)
        if not self.is_closed:
            self.send("rooms", {"counts": occupancy()})

    def accepts(self, event):
        # Whispers (sent to every connection of a user) are shown by the room's socket.
        return event == "rooms"


ChatConnection.listen("say", say)
ChatConnection.listen("whisper", whisper)
ChatConnection.listen("who", who)
# Only to the connections of the room the signal names.
ChatConnection.broadcast("message", message, by=("room_id",))
LobbyConnection.broadcast("rooms", rooms)


@receiver(say)
def relay(sender, connection, text, **kwargs):
    text = str(text).strip()[:500]
    if text:
        room = connection.kwargs["room_id"]
        message.send(sender=None, room_id=room, user=sender.get_username(), text=text)


@receiver(who)
def present(sender, connection, **kwargs):
    """The answer to ``sock.call('who')``: the names of the people in the room."""
    people = ChatConnection.present(room_id=connection.kwargs["room_id"])
    return sorted(p["user"]["username"] for p in people if p["user"])


@receiver(whisper)
def deliver_whisper(sender, connection, to, text, **kwargs):
    user = get_user_model().objects.filter(username=str(to)).first()
    if user is None:
        connection.send("error", {"message": "no user %r" % to, "event": "whisper"})
        return
    send_to_user(user, "whisper", {"user": sender.get_username(), "text": str(text)[:500]})
