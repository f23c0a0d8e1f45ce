"""A SockJS websocket client speaking the clientsignal wire format, for tests."""

from __future__ import annotations

import json
import queue
import threading
import time
import uuid

import websocket


class SignalClient:
    """One SockJS session over a websocket: ``send(event, data)`` and ``next_event()``.

    websocket-client answers the server's pings only while it reads; the server closes a peer
    that answers none for two heartbeats. With ``background=True`` a thread reads all the
    time, as a browser does, so a test may leave the client alone for a while.
    """

    def __init__(
        self, base_url: str, timeout: float = 10, query: str = "", background: bool = False
    ) -> None:
        url = base_url.replace("http://", "ws://") + "/000/%s/websocket" % uuid.uuid4()
        if query:
            url += "?" + query
        self.ws = websocket.create_connection(url, timeout=timeout, enable_multithread=True)
        self.pending: list[dict] = []
        self.heartbeats = 0
        assert self.ws.recv() == "o"
        self._frames: queue.Queue[str | None] | None = None
        if background:
            self._frames = queue.Queue()
            threading.Thread(target=self._read_all_the_time, daemon=True).start()

    def _read_all_the_time(self) -> None:
        assert self._frames is not None
        while True:
            try:
                frame = self.ws.recv()
            except websocket.WebSocketTimeoutException:
                continue
            except Exception:
                self._frames.put(None)
                return
            self._frames.put(frame)

    def _recv(self, timeout: float) -> str:
        if self._frames is None:
            self.ws.settimeout(max(0.01, timeout))
            return self.ws.recv()
        try:
            frame = self._frames.get(timeout=max(0.01, timeout))
        except queue.Empty:
            raise websocket.WebSocketTimeoutException("no frame") from None
        if frame is None:
            raise websocket.WebSocketConnectionClosedException("closed")
        return frame

    def send(self, event: str, data: dict | None = None) -> None:
        self.ws.send(json.dumps([json.dumps({"event": event, "data": data or {}})]))

    def start_call(self, event: str, data: dict | None = None, call: int = 1) -> None:
        """Send a call, as ``SignalSocket.call`` does; :meth:`next_event` gets its reply."""
        body = {"event": event, "data": data or {}, "call": call}
        self.ws.send(json.dumps([json.dumps(body)]))

    def next_event(self, timeout: float = 10) -> dict:
        """The next event, skipping heartbeats; raises TimeoutError after ``timeout``."""
        deadline = time.monotonic() + timeout
        while not self.pending:
            try:
                frame = self._recv(deadline - time.monotonic())
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
            frame = self._recv(deadline - time.monotonic())
            if frame == "h":
                self.heartbeats += 1
            elif frame.startswith("a"):
                self.pending.extend(json.loads(m) for m in json.loads(frame[1:]))

    def close(self) -> None:
        self.ws.close()
