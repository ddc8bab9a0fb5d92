"""The controller work queue, with client-go's semantics, on asyncio.

- **Dedup**: an item added while it waits in the queue is queued once.
- **One worker per item**: an item being processed is not handed out again;
  if it is added meanwhile it is marked dirty and re-queued by ``done``, so
  the change is processed after the current pass, never concurrently.
- **Delays**: ``add_after`` holds an item on a :class:`~..runtime.Clock` timer
  (an item already waiting keeps the earlier of the two deadlines).
- **Rate limiting**: ``add_rate_limited`` asks the rate limiter how long to
  wait (per-item exponential backoff combined with an overall token bucket by
  default, schedules from :mod:`.settings`); ``forget`` resets an item's
  backoff after a success; ``num_requeues`` tells how often it failed.
- **Shutdown**: new adds are ignored, waiting getters wake; items already
  queued are still handed out, then ``get`` raises :class:`ShutDown`.

Items are usually store keys (``pods.default.web-1``).  ``add`` is a plain
function, so informer event handlers (which run inside watch callbacks)
call it directly.
"""

from __future__ import annotations

import asyncio
import functools
from collections import deque
from collections.abc import Hashable
from typing import Generic, TypeVar

from ..runtime import Backoff, Clock, RateLimit, RealClock, Timer
from ._ratelimit import RateLimiter, default_controller_rate_limiter

T = TypeVar("T", bound=Hashable)


class ShutDown(Exception):
    """The queue was shut down and is empty."""


class WorkQueue(Generic[T]):
    def __init__(
        self,
        clock: Clock | None = None,
        rate_limiter: RateLimiter[T] | None = None,
        *,
        name: str = "",
        backoff: Backoff | None = None,
        rate_limit: RateLimit | None = None,
    ) -> None:
        """``rate_limiter`` defaults to per-item ``backoff`` combined with ``rate_limit``."""
        self.name = name
        self.clock: Clock = clock or RealClock()
        self.rate_limiter: RateLimiter[T] = rate_limiter or default_controller_rate_limiter(
            self.clock, backoff, rate_limit
        )
        self._queue: deque[T] = deque()
        self._dirty: set[T] = set()
        self._processing: set[T] = set()
        self._waiting: dict[T, tuple[float, Timer]] = {}
        self._getters: deque[asyncio.Future[None]] = deque()
        self._shutting_down = False

    # --- plain queue --------------------------------------------------------

    def add(self, item: T) -> None:
        """Queue ``item`` unless it is already queued; defer it if it is being processed."""
        if self._shutting_down or item in self._dirty:
            return
        self._dirty.add(item)
        if item in self._processing:
            return
        self._queue.append(item)
        self._wake_one()

    async def get(self) -> T:
        """The next item; the caller must call ``done(item)`` when finished with it."""
        while not self._queue:
            if self._shutting_down:
                raise ShutDown(self.name)
            fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._getters.append(fut)
            try:
                await fut
            except asyncio.CancelledError:
                if fut.done() and not fut.cancelled():
                    self._wake_one()  # pass the wake-up on to another getter
                else:
                    fut.cancel()
                raise
        item = self._queue.popleft()
        self._dirty.discard(item)
        self._processing.add(item)
        return item

    def done(self, item: T) -> None:
        """Mark ``item`` processed; if it was added meanwhile, queue it again."""
        self._processing.discard(item)
        if item in self._dirty:
            self._queue.append(item)
            self._wake_one()

    def _wake_one(self) -> None:
        while self._getters:
            fut = self._getters.popleft()
            if not fut.done():
                fut.set_result(None)
                return

    def _wake_all(self) -> None:
        while self._getters:
            fut = self._getters.popleft()
            if not fut.done():
                fut.set_result(None)

    # --- delays -------------------------------------------------------------

    def add_after(self, item: T, delay: float) -> None:
        """Queue ``item`` after ``delay`` seconds (at once if ``delay <= 0``)."""
        if self._shutting_down:
            return
        if delay <= 0:
            self.add(item)
            return
        deadline = self.clock.monotonic() + delay
        existing = self._waiting.get(item)
        if existing is not None:
            if existing[0] <= deadline:
                return
            existing[1].cancel()
        timer = self.clock.call_later(delay, functools.partial(self._fire, item, deadline))
        self._waiting[item] = (deadline, timer)

    def _fire(self, item: T, deadline: float) -> None:
        w = self._waiting.get(item)
        if w is not None and w[0] == deadline:
            del self._waiting[item]
            self.add(item)

    # --- rate limiting ------------------------------------------------------

    def add_rate_limited(self, item: T) -> None:
        """Queue ``item`` when the rate limiter says it may be retried."""
        if self._shutting_down:
            return
        self.add_after(item, self.rate_limiter.when(item))

    def forget(self, item: T) -> None:
        """Reset ``item``'s backoff (it succeeded); does not dequeue it."""
        self.rate_limiter.forget(item)

    def num_requeues(self, item: T) -> int:
        return self.rate_limiter.num_requeues(item)

    # --- lifecycle and introspection -----------------------------------------

    def shutdown(self) -> None:
        """Ignore new adds, drop delayed items, wake getters; queued items are still handed out."""
        self._shutting_down = True
        for _, timer in self._waiting.values():
            timer.cancel()
        self._waiting.clear()
        self._wake_all()

    @property
    def shutting_down(self) -> bool:
        return self._shutting_down

    def __len__(self) -> int:
        """Items ready to be handed out (not those processing or waiting on a delay)."""
        return len(self._queue)

    @property
    def processing(self) -> int:
        return len(self._processing)

    @property
    def waiting(self) -> int:
        return len(self._waiting)
