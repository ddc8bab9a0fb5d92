"""The scheduler's rate limit on the events it records (scheduler.py).

Events are best effort: like the event broadcaster, which drops what it cannot send,
an event over the limit is dropped rather than waited for.
"""

from __future__ import annotations

import time

__all__ = ["EventBucket"]


class EventBucket:
    """A token bucket that drops instead of waiting (qps <= 0: unlimited)."""

    def __init__(self, qps: float, burst: int) -> None:
        self.qps, self.burst = qps, max(1, burst)
        self.tokens = float(self.burst)
        self.last = time.monotonic()

    def take(self) -> bool:
        if self.qps <= 0:
            return True
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.last) * self.qps)
        self.last = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False
