"""The chat: logged-in users only; what one says, everyone in the room sees."""

from django.contrib.auth import get_user_model
from django.dispatch import receiver

from clientsignal import Signal, SignalConnection, send_to_user

# From browsers: a line of text, or a whisper to one user (all of their tabs).
say = Signal(providing_args=["text"])
whisper = Signal(providing_args=["to", "text"])
# To browsers: a line said, and who came and went.
message = Signal(providing_args=["user", "text"])
presence = Signal(providing_args=["user", "status", "online"])


class ChatConnection(SignalConnection):
    login_required = True
    online: dict[str, int] = {}

    def on_open(self, request):
        super().on_open(request)
        if not self.is_closed:
            self._presence(+1, "joined")

    def on_close(self):
        if self.user is not None and self.user.is_authenticated:
            self._presence(-1, "left")
        super().on_close()

    def _presence(self, delta, status):
        name = self.user.get_username()
        ChatConnection.online[name] = ChatConnection.online.get(name, 0) + delta
        if ChatConnection.online[name] <= 0:
            del ChatConnection.online[name]
        online = sorted(ChatConnection.online)
        presence.send(sender=None, user=name, status=status, online=online)


ChatConnection.listen("say", say)
ChatConnection.listen("whisper", whisper)
ChatConnection.broadcast("message", message)
ChatConnection.broadcast("presence", presence)


@receiver(say)
def relay(sender, connection, text, **kwargs):
    text = str(text).strip()[:500]
    if text:
        message.send(sender=None, user=sender.get_username(), text=text)


@receiver(whisper)
def deliver_whisper(sender, connection, to, text, **kwargs):
    user = get_user_model().objects.filter(username=str(to)).first()
    if user is None:
        connection.send("error", {"message": "no user %r" % to, "event": "whisper"})
        return
    send_to_user(user, "whisper", {"user": sender.get_username(), "text": str(text)[:500]})
