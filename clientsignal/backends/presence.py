"""Presence: who is connected to a place (a group, a class, a class with URL arguments),
across every worker and machine, and the in-process store of it.

An entry is one connection: its user (id and name, or none for an anonymous visitor), its
id and the worker that holds it. With Redis, each worker refreshes its entries every
:data:`REFRESH` seconds and an entry counts for :data:`TTL` seconds after its last refresh,
so the entries of a worker that died without closing anything (SIGKILL) vanish within
:data:`TTL` seconds, with no clean-up to run. The next refresh of another worker with entries
in the same place removes them, and says which users thereby left (``leave`` events, within
:data:`TTL` + :data:`REFRESH` seconds).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

REFRESH = 5.0
"""Seconds between a worker's refreshes of its presence entries."""
TTL = 2 * REFRESH
"""Seconds an entry counts after its last refresh: a dead worker's vanish within it."""


@dataclass(frozen=True)
class Entry:
    """One connection present in a place."""

    user_id: str  # "" for an anonymous visitor
    username: str
    connection: str
    worker: str = ""

    def key(self) -> str:
        """As Redis keeps it: the user first, so one user's entries share a prefix."""
        return "%s|%s|%s|%s" % (self.user_id, self.connection, self.worker, self.username)

    @classmethod
    def parse(cls, key: str) -> Entry:
        user_id, connection, worker, username = key.split("|", 3)
        return cls(user_id, username, connection, worker)


def summary(entries: list[Entry]) -> list[dict[str, Any]]:
    """Users with their connection count, by name; anonymous visitors together, last."""
    users: dict[str, dict[str, Any]] = {}
    for entry in entries:
        found = users.get(entry.user_id)
        if found is None:
            user = {"id": _id(entry.user_id), "username": entry.username} if entry.user_id else None
            found = users[entry.user_id] = {"user": user, "connections": 0}
        found["connections"] += 1
    known = sorted((u for k, u in users.items() if k), key=lambda u: u["user"]["username"])
    return known + ([users[""]] if "" in users else [])


def _id(text: str) -> Any:
    return int(text) if text.isdigit() else text


class MemoryPresence:
    """The in-process backend's presence: every entry lives in this process."""

    def __init__(self) -> None:
        self._places: dict[str, dict[str, Entry]] = {}

    def add(self, place: str, entry: Entry) -> int:
        """Count ``entry``; the entries of its user in ``place`` now."""
        entries = self._places.setdefault(place, {})
        entries[entry.connection] = entry
        return sum(1 for e in entries.values() if e.user_id == entry.user_id)

    def remove(self, place: str, entry: Entry) -> int:
        """Forget ``entry``; the entries of its user left in ``place``."""
        entries = self._places.get(place, {})
        entries.pop(entry.connection, None)
        if not entries:
            self._places.pop(place, None)
        return sum(1 for e in entries.values() if e.user_id == entry.user_id)

    def entries(self, place: str) -> list[Entry]:
        return list(self._places.get(place, {}).values())
