"""Multiplexing on both backends: one xhr-polling session carries channels to two endpoints;
on Redis its requests land on either of two workers, and what a worker sends reaches each
channel."""

from __future__ import annotations

import json
import time
import uuid

import pytest

from tests.support.http import request

from .conftest import unique

pytestmark = pytest.mark.redis


class PollingMux:
    """A multiplexed SockJS session over xhr-polling, one fresh connection per request (so
    gunicorn's workers take turns at them)."""

    def __init__(self, base_url: str) -> None:
        self.url = "%s/multiplex/000/%s" % (base_url, uuid.uuid4().hex)
        # The client's key cookie: every request of the session carries it, as a browser's do.
        self.headers = {"Cookie": "sockjs_key=%s" % uuid.uuid4().hex}
        self.pending: list[str] = []
        assert self._poll() == "o"

    def send(self, *messages: str) -> None:
        reply = request("POST", self.url + "/xhr_send", json.dumps(messages), self.headers)
        assert reply.status == 204, reply.body

    def next(self, timeout: float = 15) -> str:
        deadline = time.monotonic() + timeout
        while not self.pending:
            assert time.monotonic() < deadline, "nothing within %.0f s" % timeout
            frame = self._poll()
            if frame.startswith("a"):
                self.pending.extend(json.loads(frame[1:]))
            else:
                assert frame == "h", frame
        return self.pending.pop(0)

    def next_event(self, topic: str) -> dict:
        kind, got, payload = self.next().split(",", 2)
        assert (kind, got) == ("msg", topic)
        return json.loads(payload)

    def _poll(self) -> str:
        reply = request("POST", self.url + "/xhr", headers=self.headers, timeout=20)
        assert reply.status == 200, reply.body
        return reply.body.rstrip("\n")


def test_channels_of_one_session_on_each_backend(project):
    mux = PollingMux(project.url)
    mux.send("sub,/signals?as=7", "sub,/rooms/7")
    assert mux.next() == "sub,/signals?as=7"
    hello = mux.next_event("/signals?as=7")
    assert (hello["event"], hello["data"]["kwargs"]) == ("hello", {})
    assert mux.next() == "sub,/rooms/7"
    assert mux.next_event("/rooms/7")["data"]["kwargs"] == {"room_id": 7}

    # A listened event through one channel; its answer comes back on that channel only.
    mux.send('msg,/signals?as=7,{"event":"echo","data":{"text":"a,b"}}')
    assert mux.next_event("/signals?as=7") == {"event": "echo", "data": {"text": "a,b"}}

    # From a worker: the user of the channel's own query string, then a broadcast that both
    # channels' classes receive (RoomConnection is a TickConnection), then to the room.
    project.do("user", user=7, text="for seven")
    assert mux.next_event("/signals?as=7") == {"event": "dm", "data": {"text": "for seven"}}
    end = unique("end")
    project.do("tick", origin=end)
    ticks = {mux.next().split(",", 2)[1] for _ in range(2)}
    assert ticks == {"/signals?as=7", "/rooms/7"}
    project.do("url", kwargs={"room_id": 7}, text="to the room")
    assert mux.next_event("/rooms/7") == {"event": "notice", "data": {"text": "to the room"}}

    # Closing one channel leaves the other; the server forgets the closed one.
    mux.send("uns,/rooms/7")
    again = unique("again")
    project.do("tick", origin=again)
    assert mux.next_event("/signals?as=7")["data"]["origin"] == again
    mux.send('msg,/rooms/7,{"event":"say","data":{"text":"late"}}')
    assert mux.next() == 'uns,/rooms/7,[4404,"No such endpoint"]'
    mux.send("uns,/signals?as=7")
