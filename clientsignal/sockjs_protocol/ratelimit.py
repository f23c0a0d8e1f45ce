"""A token bucket, sans I/O: the caller passes the time.

Why per frame and not only per byte: a websocket client can send floods of empty or tiny
frames that cost the server a turn of its reading loop each and almost no bytes, so a byte
limit does not bound the work one client causes. The reader counts the frames it read
(:attr:`~.websocket_framing.FrameReader.frames_read`); the I/O layer charges them here.

Two ways to spend: :meth:`TokenBucket.take` refuses a cost the bucket cannot cover (for work
not yet done), :meth:`TokenBucket.charge` always takes it, going into debt, and says how long
to wait until the debt is paid (for work already done: frames already read). Waiting that long
before reading again slows a flooding client down to ``rate`` through TCP's own backpressure;
a caller may also close the connection when the wait is too long.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class TokenBucket:
    """``rate`` tokens a second, at most ``burst`` saved up; full at the start."""

    rate: float
    burst: float
    tokens: float = field(init=False)
    updated: float | None = field(default=None, init=False)  # the time of the last refill

    def __post_init__(self) -> None:
        if self.rate <= 0 or self.burst <= 0:
            raise ValueError("a token bucket needs a positive rate and burst")
        self.tokens = self.burst

    def take(self, now: float, cost: float = 1) -> bool:
        """Take ``cost`` tokens if there are that many; else take nothing and say False."""
        self._refill(now)
        if self.tokens < cost:
            return False
        self.tokens -= cost
        return True

    def charge(self, now: float, cost: float = 1) -> float:
        """Take ``cost`` tokens, into debt if need be: the seconds until the debt is paid
        (0.0 when there is none)."""
        self._refill(now)
        self.tokens -= cost
        return 0.0 if self.tokens >= 0 else -self.tokens / self.rate

    def _refill(self, now: float) -> None:
        if self.updated is not None and now > self.updated:
            self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        if self.updated is None or now > self.updated:
            self.updated = now  # a clock that goes back gives nothing, and takes nothing
