from django.dispatch import receiver

from clientsignal import Signal, SignalConnection

say = Signal(providing_args=["text"])
said = Signal(providing_args=["room_id", "user", "text"])


class LobbyConnection(SignalConnection):
    login_required = True
    history = True
    presence = True
    presence_events = True


LobbyConnection.listen("say", say)
LobbyConnection.broadcast("said", said, by=("room_id",))


@receiver(say)
def relay(sender, connection, text, **kwargs):
    said.send(sender=None, room_id=connection.kwargs["room_id"], user=sender.username, text=text)
