"""The chat: logged-in users only, in numbered rooms; what one says, everyone in the room sees.

Two endpoints per page, which share one SockJS session when multiplexing is on
(``CLIENTSIGNAL_MULTIPLEX`` in the settings): the room (``/chat/<int:room_id>``) and the lobby
(``/lobby``), which shows how many people are in each room.
"""

from django.contrib.auth import get_user_model
from django.dispatch import receiver

from clientsignal import Signal, SignalConnection, send_to_user

# From browsers: a line of text, or a whisper to one user (all of their tabs).
say = Signal(providing_args=["text"])
whisper = Signal(providing_args=["to", "text"])
# To browsers: a line said in a room, who came and went, and the rooms' occupancy.
message = Signal(providing_args=["room_id", "user", "text"])
presence = Signal(providing_args=["room_id", "user", "status", "online"])
rooms = Signal(providing_args=["counts"])


class ChatConnection(SignalConnection):
    """One room: ``self.kwargs["room_id"]`` comes from the URL."""

    login_required = True
    # room -> username -> open connections (tabs), in this process.
    online: dict[int, dict[str, int]] = {}

    def on_open(self, request):
        super().on_open(request)
        if not self.is_closed:
            self._presence(+1, "joined")

    def on_close(self):
        if self.user is not None and self.user.is_authenticated and "room_id" in self.kwargs:
            self._presence(-1, "left")
        super().on_close()

    def _presence(self, delta, status):
        room, name = self.kwargs["room_id"], self.user.get_username()
        people = ChatConnection.online.setdefault(room, {})
        people[name] = people.get(name, 0) + delta
        if people[name] <= 0:
            del people[name]
        presence.send(sender=None, room_id=room, user=name, status=status, online=sorted(people))
        rooms.send(sender=None, counts=occupancy())


def occupancy():
    """People in each room, by room number (as a string: a JSON object key)."""
    return {str(room): len(people) for room, people in ChatConnection.online.items() if people}


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
# Only to the connections of the room the signal names.
ChatConnection.broadcast("message", message, by=("room_id",))
ChatConnection.broadcast("presence", presence, by=("room_id",))
LobbyConnection.broadcast("rooms", rooms)


@receiver(say)
def relay(sender, connection, text, **kwargs):
    text = str(text).strip()[:500]
    if text:
        room = connection.kwargs["room_id"]
        message.send(sender=None, room_id=room, user=sender.get_username(), text=text)


@receiver(whisper)
def deliver_whisper(sender, connection, to, text, **kwargs):
    user = get_user_model().objects.filter(username=str(to)).first()
    if user is None:
        connection.send("error", {"message": "no user %r" % to, "event": "whisper"})
        return
    send_to_user(user, "whisper", {"user": sender.get_username(), "text": str(text)[:500]})
