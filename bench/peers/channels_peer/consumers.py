"""The websocket consumer: the same behaviour as bench/floor.py, raw JSON text frames.

Every connection joins the group "bench". {"event": "broadcast", "data": ...} goes through the
Redis channel layer to the whole group and reaches every client as {"event": "tick", ...};
any other event (the benchmark sends "echo") is answered to its sender as {"event": "echo", ...}.
"""

import json

from channels.generic.websocket import AsyncWebsocketConsumer

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
