"""The websocket consumer: the same behaviour as bench/floor.py, raw JSON text frames.

Every connection joins the group "bench". {"event": "broadcast", "data": ...} goes through the
Redis channel layer to the whole group and reaches every client as {"event": "tick", ...};
any other event (the benchmark sends "echo") is answered to its sender as {"event": "echo", ...}.

ChatConsumer is the dbchat scenario's chat room (bench/dbchat.py).
"""

import json

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from channels_peer.chat.models import Message

GROUP = "bench"


class BenchConsumer(AsyncWebsocketConsumer):
    """Joins GROUP on connect and leaves it on disconnect (Channels does both for `groups`)."""

    groups = [GROUP]

    async def receive(self, text_data=None, bytes_data=None):
        message = json.loads(text_data)
        if message["event"] == "broadcast":
            # Encoded once here, like the floor; each member sends the text as it is.
            frame = json.dumps({"event": "tick", "data": message["data"]})
            await self.channel_layer.group_send(GROUP, {"type": "bench.tick", "text": frame})
        else:
            await self.send(text_data=json.dumps({"event": "echo", "data": message["data"]}))

    async def bench_tick(self, event):
        """Handler of group messages of type "bench.tick"."""
        await self.send(text_data=event["text"])


@database_sync_to_async
def save(room, author, text):
    """The ORM in Channels' database thread; closes connections past CONN_MAX_AGE around it."""
    return Message.objects.create(room=room, author=author, text=text).pk


class ChatConsumer(AsyncWebsocketConsumer):
    """The dbchat scenario's chat on ``/chat/<int:room_id>``, as Channels' tutorial writes it
    (async, one group per room) with the database access its documentation prescribes
    (``database_sync_to_async``): {"event": "say", "data": {"t", "author", "text"}} is saved
    as a row, then {"event": "said", ...} goes to the room's group through the Redis channel
    layer, encoded once; the sender is a member too (its copy is its acknowledgement)."""

    async def connect(self):
        self.room = self.scope["url_route"]["kwargs"]["room_id"]
        self.group = "chat-%d" % self.room
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code):
        await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None):
        message = json.loads(text_data)
        if message["event"] != "say":
            return
        data = message["data"]
        pk = await save(self.room, data["author"], data["text"])
        said = {"room_id": self.room, "t": data["t"], "author": data["author"],
                "text": data["text"], "id": pk}  # fmt: skip
        frame = json.dumps({"event": "said", "data": said})
        await self.channel_layer.group_send(self.group, {"type": "chat.said", "text": frame})

    async def chat_said(self, event):
        """Handler of group messages of type "chat.said"."""
        await self.send(text_data=event["text"])
