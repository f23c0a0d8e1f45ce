"""The connections' loggers, and what they log once per episode per class: refused client
messages (a hostile client may send thousands a second), ``accepts()`` raising (once per
broadcast)."""

from __future__ import annotations

import logging
import time

from ..episodes import Episode

logger = logging.getLogger("clientsignal")
lifecycle = logger.getChild("connections")
"""Connections opening and closing, at DEBUG (like daphne's WSCONNECT / WSDISCONNECT)."""

_episodes: dict[tuple[str, type], Episode] = {}


def new_episode(what: str, cls: type) -> bool:
    """Whether this ``what`` of ``cls`` starts an episode, and so is logged."""
    episode = _episodes.get((what, cls))
    if episode is None:
        episode = _episodes[what, cls] = Episode()
    return episode.hit(time.monotonic())


def new_log_episodes() -> None:
    """Start new episodes of the logs kept to one line per episode per class (refused
    messages, accepts raising): the next of each is logged. For tests, each of which expects
    its own log lines."""
    _episodes.clear()
