"""What an app developer would write: connection classes and signals, to test with the helpers."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.dispatch import receiver

from clientsignal import Signal, SignalConnection, send_to_group, send_to_user

# From browsers.
say = Signal(providing_args=["text"])
whisper = Signal(providing_args=["to", "text"])
join = Signal(providing_args=["group"])
boom = Signal(providing_args=[])
reset = Signal(providing_args=[])
# To browsers.
said = Signal(providing_args=["room_id", "text", "by"])
audit = Signal(providing_args=["text"])
notice = Signal(providing_args=["text"])


class RoomConnection(SignalConnection):
    """Logged-in users in numbered rooms: ``/rooms/<int:room_id>``."""

    login_required = True
    closed: list[str] = []  # usernames, as on_close saw them

    def on_close(self) -> None:
        super().on_close()
        if self.user is not None and self.user.is_authenticated:
            RoomConnection.closed.append(self.user.username)


RoomConnection.listen("say", say)
RoomConnection.listen("whisper", whisper)
RoomConnection.listen("join", join)
RoomConnection.listen("boom", boom)
RoomConnection.broadcast("said", said, by=("room_id",))


@receiver(say)
def relay(sender, connection, text, **kwargs):
    said.send(sender=None, room_id=connection.kwargs["room_id"], text=text, by=sender.username)


@receiver(whisper)
def deliver_whisper(sender, connection, to, text, **kwargs):
    user = get_user_model().objects.get(username=to)
    send_to_user(user, "whisper", {"from": sender.username, "text": text})


@receiver(join)
def join_group(sender, connection, group, **kwargs):
    connection.join(group)
    send_to_group(group, "joined", {"user": sender.username})


@receiver(boom)
def explode(sender, connection, **kwargs):
    raise ValueError("a bug in a receiver")


class ReportsConnection(SignalConnection):
    login_required = True
    permission_required = ("auth.view_user",)


class ModeratedConnection(SignalConnection):
    """Anyone may connect; only superusers may ``reset``, only staff see ``audit``."""

    def allow(self, event, data):
        return event != "reset" or self.user.is_superuser

    def accepts(self, event):
        return event != "audit" or self.user.is_staff


ModeratedConnection.listen("reset", reset)
ModeratedConnection.broadcast("audit", audit)
ModeratedConnection.broadcast("notice", notice)


@receiver(reset)
def do_reset(sender, connection, **kwargs):
    connection.send("reset done", {"by": sender.username})


class TokenConnection(SignalConnection):
    """Authenticated by a token in the query string and an API version header."""

    login_required = True

    def get_user(self, request):
        if request.headers.get("X-Api-Version") != "2":
            return AnonymousUser()
        return get_user_model().objects.filter(username=request.GET.get("token")).first()


CONNECTIONS = {
    "/rooms/<int:room_id>": "tests.testing.rooms.RoomConnection",
    "/reports": "tests.testing.rooms.ReportsConnection",
    "/moderated": "tests.testing.rooms.ModeratedConnection",
    "/api": "tests.testing.rooms.TokenConnection",
}
