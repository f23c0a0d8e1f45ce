"""A SockJS websocket client speaking the clientsignal wire format, for tests."""

from __future__ import annotations

import json
import time
import uuid

import websocket


class SignalClient:
    """One SockJS session over a websocket: ``send(event, data)`` and ``next_event()``."""

    def __init__(self, base_url: str, timeout: float = 10, query: str = "") -> None:
        url = base_url.replace("http://", "ws://") + "/000/%s/websocket" % uuid.uuid4()
        if query:
            url += "?" + query
        self.ws = websocket.create_connection(url, timeout=timeout)
        self.pending: list[dict] = []
        self.heartbeats = 0
        assert self.ws.recv() == "o"

    def send(self, event: str, data: dict | None = None) -> None:
        self.ws.send(json.dumps([json.dumps({"event": event, "data": data or {}})]))

    def next_event(self, timeout: float = 10) -> dict:
        """The next event, skipping heartbeats; raises TimeoutError after ``timeout``."""
        deadline = time.monotonic() + timeout
        while not self.pending:
            self.ws.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                frame = self.ws.recv()
            except websocket.WebSocketTimeoutException:
                raise TimeoutError("no event within %.1f s" % timeout) from None
            if frame == "h":
                self.heartbeats += 1
            elif frame.startswith("a"):
                self.pending.extend(json.loads(m) for m in json.loads(frame[1:]))
            else:
                raise AssertionError("unexpected frame %r" % frame)
        return self.pending.pop(0)

    def wait_heartbeat(self, timeout: float = 10) -> None:
        """Block until one more heartbeat (the socket is alive) or fail."""
        seen = self.heartbeats
        deadline = time.monotonic() + timeout
        while self.heartbeats == seen:
            self.ws.settimeout(max(0.01, deadline - time.monotonic()))
            frame = self.ws.recv()
            if frame == "h":
                self.heartbeats += 1
            elif frame.startswith("a"):
                self.pending.extend(json.loads(m) for m in json.loads(frame[1:]))

    def close(self) -> None:
        self.ws.close()
