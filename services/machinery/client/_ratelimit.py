"""Rate limiters for the work queue, as in client-go's ``workqueue`` package.

``when(item)`` answers "how long should this item wait before it is retried"
and records the attempt; ``forget(item)`` clears the item's history once it
succeeded.  The controller default combines a per-item exponential backoff
(a failing key slows down, others are unaffected) with an overall token
bucket (a storm of failures cannot flood the API server).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Generic, Protocol, TypeVar

from ..runtime import Backoff, Clock, RateLimit

T = TypeVar("T", bound=Hashable)
T_contra = TypeVar("T_contra", bound=Hashable, contravariant=True)


class RateLimiter(Protocol[T_contra]):
    def when(self, item: T_contra) -> float:
        """Seconds ``item`` should wait now; counts one more requeue."""
        ...

    def forget(self, item: T_contra) -> None:
        """Stop tracking ``item`` (it succeeded)."""
        ...

    def num_requeues(self, item: T_contra) -> int: ...


class ItemExponentialFailureRateLimiter(Generic[T]):
    """``base * 2**failures`` per item, capped (client-go: 5 ms .. 1000 s)."""

    def __init__(self, backoff: Backoff | None = None) -> None:
        self.backoff = backoff or Backoff()
        self._failures: dict[T, int] = {}

    def when(self, item: T) -> float:
        n = self._failures.get(item, 0)
        self._failures[item] = n + 1
        return self.backoff.delay(n)

    def forget(self, item: T) -> None:
        self._failures.pop(item, None)

    def num_requeues(self, item: T) -> int:
        return self._failures.get(item, 0)


class BucketRateLimiter(Generic[T]):
    """An overall token bucket (Go's ``rate.Limiter`` reservations): every call takes a token.

    When the bucket is empty the token is borrowed from the future and the
    caller is told how long until it would have been there.
    """

    def __init__(self, clock: Clock, limit: RateLimit | None = None) -> None:
        self.clock = clock
        self.limit = limit or RateLimit()
        self._tokens = float(self.limit.burst)
        self._last = clock.monotonic()

    def when(self, item: T) -> float:
        qps = self.limit.qps
        if qps <= 0:
            return 0.0
        now = self.clock.monotonic()
        self._tokens = min(float(self.limit.burst), self._tokens + (now - self._last) * qps)
        self._last = now
        self._tokens -= 1.0
        return 0.0 if self._tokens >= 0 else -self._tokens / qps

    def forget(self, item: T) -> None:
        pass

    def num_requeues(self, item: T) -> int:
        return 0


class MaxOfRateLimiter(Generic[T]):
    """The longest wait any of the limiters asks for."""

    def __init__(self, limiters: Sequence[RateLimiter[T]]) -> None:
        if not limiters:
            raise ValueError("MaxOfRateLimiter needs at least one limiter")
        self.limiters = list(limiters)

    def when(self, item: T) -> float:
        return max(lim.when(item) for lim in self.limiters)

    def forget(self, item: T) -> None:
        for lim in self.limiters:
            lim.forget(item)

    def num_requeues(self, item: T) -> int:
        return max(lim.num_requeues(item) for lim in self.limiters)


def default_controller_rate_limiter(
    clock: Clock, backoff: Backoff | None = None, limit: RateLimit | None = None
) -> MaxOfRateLimiter[T]:
    """client-go's ``DefaultControllerRateLimiter``: per-item backoff, overall bucket."""
    per_item: ItemExponentialFailureRateLimiter[T] = ItemExponentialFailureRateLimiter(backoff)
    bucket: BucketRateLimiter[T] = BucketRateLimiter(clock, limit)
    return MaxOfRateLimiter([per_item, bucket])
