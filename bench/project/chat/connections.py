"""A chat on ``/chat/<int:room_id>``: a browser's ``say`` is saved as a row, then ``said`` is
broadcast to that room's connections only (in every worker, with Redis)."""

from django.dispatch import receiver

from clientsignal import BaseSignalConnection, Signal

from .models import Message

say = Signal(providing_args=["t", "author", "text"])
said = Signal(providing_args=["room_id", "t", "author", "text", "id"])


class ChatConnection(BaseSignalConnection):
    pass


ChatConnection.listen("say", say)
ChatConnection.broadcast("said", said, by=("room_id",))


@receiver(say)
def saying(sender, connection, t, author, text, **kwargs):
    """Save the line, then tell the room (the sender included: its copy is its
    acknowledgement). ``t`` is the load generator's number for the message."""
    room = connection.kwargs["room_id"]
    row = Message.objects.create(room=room, author=author, text=text)
    said.send(sender=None, room_id=room, t=t, author=author, text=text, id=row.pk)
