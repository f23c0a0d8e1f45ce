"""The in-process backend: the default, needs nothing, reaches this process only."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from .base import BaseBackend, Envelope, Member
from .presence import Entry, MemoryPresence
from .streams import History, MemoryStreams, Position, Replay


class MemoryBackend(BaseBackend):
    """Delivers each message straight to the connections of this process; streams are kept
    in memory (a restart loses them: a new epoch). The own stream of a connection that closes
    is kept for its client's return within the bounds of :class:`~.streams.Retired`."""

    def __init__(self, url: str | None = None, options: dict[str, Any] | None = None) -> None:
        super().__init__(url, options)
        self.streams = MemoryStreams()
        self.present = MemoryPresence()
        # Workers of this process (tests run several session clusters in one): session
        # owners and live workers, each with when it expires (monotonic), and inboxes.
        self._owners: dict[str, tuple[str, float]] = {}
        self._workers: dict[str, float] = {}
        self._inboxes: dict[str, Callable[[bytes], None]] = {}

    def join(self, connection: Member, channels: tuple[str, ...]) -> None:
        super().join(connection, channels)
        for channel in channels:  # a connection that came back: its stream is in use again
            self.streams.retired.discard(channel)

    def leave(self, connection: Member) -> None:
        super().leave(connection)
        address = getattr(connection.session, "address", "")
        self.streams.retire(self.target_channel("connection", connection.id), address)

    def publish(self, channel: str, envelope: Envelope, history: History | None = None) -> None:
        if history is not None:
            envelope = self.streams.append(channel, history, envelope)
        self.hub.deliver(channel, envelope)

    def replay(self, channel: str, since: Position, history: History) -> Replay:
        return self.streams.replay(channel, since, history)

    def heads(self, streams: dict[str, History]) -> dict[str, Position]:
        return {
            channel: self.streams.head(channel, history) for channel, history in streams.items()
        }

    def presence_add(self, place: str, entry: Entry) -> int:
        return self.present.add(place, entry)

    def presence_remove(self, place: str, entry: Entry) -> int:
        return self.present.remove(place, entry)

    def presence(self, place: str) -> list[Entry]:
        return self.present.entries(place)

    def session_owner(self, session: str, claim: str | None = None, ttl: float = 0) -> str | None:
        now = time.monotonic()
        found = self._owners.get(session)
        if found is not None and found[1] > now:
            return found[0]
        if claim is None:
            return None
        self._owners[session] = (claim, now + ttl)
        return claim

    def release_sessions(self, sessions: list[str], worker: str) -> None:
        for session in sessions:
            if self._owners.get(session, ("", 0))[0] == worker:
                del self._owners[session]

    def keep_sessions(self, sessions: list[str], worker: str, ttl: float) -> list[int]:
        taken = []
        for index, session in enumerate(sessions):
            if self.session_owner(session, claim=worker, ttl=ttl) == worker:
                self._owners[session] = (worker, time.monotonic() + ttl)
            else:
                taken.append(index)
        return taken

    def register_worker(self, worker: str, ttl: float) -> set[str]:
        now = time.monotonic()
        self._workers[worker] = now + ttl
        self._workers = {w: at for w, at in self._workers.items() if at > now}
        return set(self._workers)

    def registered_workers(self) -> set[str]:
        now = time.monotonic()
        return {worker for worker, at in self._workers.items() if at > now}

    def open_inbox(self, inbox: str, receive: Callable[[bytes], None]) -> None:
        self._inboxes[inbox] = receive

    def inbox_ready(self, inbox: str, timeout: float) -> bool:
        return inbox in self._inboxes

    def post(self, inbox: str, data: bytes, *, heard: bool = False) -> bool:
        receive = self._inboxes.get(inbox)
        if receive is None:
            return not heard
        receive(data)
        return True
