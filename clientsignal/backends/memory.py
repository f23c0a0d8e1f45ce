"""The in-process backend: the default, needs nothing, reaches this process only."""

from __future__ import annotations

from .base import BaseBackend


class MemoryBackend(BaseBackend):
    """Delivers each broadcast straight to the connections of this process."""

    def publish(
        self, channel: str, encoded: str, exclude: str | None = None, event: str = ""
    ) -> None:
        self.hub.deliver(channel, encoded, exclude, event)
