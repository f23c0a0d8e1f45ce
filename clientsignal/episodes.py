"""Episodes: a condition logged once when it starts, and counted after that.

A leaf of the standard library only, which every layer may import (the SockJS core, the
backends, the I/O layer, the Django side): nothing else is shared between the core and the
backends.
"""

from __future__ import annotations


class Episode:
    """A condition that may repeat many times a second (refusals, timeouts): :meth:`hit`
    says True when it starts anew, after ``quiet`` seconds without it, so the caller logs
    once per episode and counts the rest."""

    def __init__(self, quiet: float = 60.0) -> None:
        self.quiet = quiet
        self.count = 0
        self._last: float | None = None

    def hit(self, now: float) -> bool:
        starts = self._last is None or now - self._last > self.quiet
        self._last = now
        self.count += 1
        return starts
