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

    def as_dict(self) -> dict[str, int]:
        return asdict(self)
