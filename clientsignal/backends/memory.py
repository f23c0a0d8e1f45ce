"""The in-process backend: the default, needs nothing, reaches this process only."""

from __future__ import annotations

from .base import BaseBackend, Envelope


class MemoryBackend(BaseBackend):
    """Delivers each message straight to the connections of this process."""

    def publish(self, channel: str, envelope: Envelope) -> None:
        self.hub.deliver(channel, envelope)
