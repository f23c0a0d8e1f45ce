"""Counters of one service in one process, kept by the core as it works."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass
class Counters:
    """Running totals; the open sessions are counted from the live ones when asked."""

    sessions_opened: int = 0
    sessions_closed: int = 0
    messages_in: int = 0
    messages_out: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    errors: int = 0
    refused_per_address: int = 0
    """Sessions refused: ``max_sessions_per_address`` open from that address."""
    refused_per_user: int = 0
    """Sessions refused: ``max_sessions_per_user`` open for that user."""
    refused_full: int = 0
    """Sessions refused: ``max_sessions`` open."""
    rate_limited: int = 0
    """Sessions closed for sending over ``max_message_rate``."""
    foreign_requests: int = 0
    """Requests naming a session opened by another client (another credential or prefix)."""
    refused_hosts: int = 0
    """Requests refused (400) for a ``Host`` not in ``allowed_hosts`` (DNS rebinding)."""

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


COUNTERS = tuple(Counters().as_dict())
