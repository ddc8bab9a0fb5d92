"""Time as a dependency: a real clock for services, a fake one for instant tests.

Everything in machinery that waits (work-queue delays and backoff, informer
resync, lease renewals, grace periods) asks a :class:`Clock` instead of
calling ``asyncio.sleep`` or ``time.monotonic`` itself.  Tests pass a
:class:`FakeClock` and move time with ``await clock.advance(seconds)``, which
fires due timers one at a time, in deadline order, letting the event loop run
after each, so a test of a 1000 s backoff or a 15 s lease runs in
milliseconds and always the same way.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol, TypeVar

T = TypeVar("T")


class Timer(Protocol):
    """A scheduled callback; ``cancel`` is idempotent."""

    def cancel(self) -> None: ...


class Clock(Protocol):
    def monotonic(self) -> float:
        """Seconds on a clock that never goes back (for durations and deadlines)."""
        ...

    def now(self) -> datetime:
        """Wall-clock time as an aware UTC datetime (for timestamps written to objects)."""
        ...

    async def sleep(self, seconds: float) -> None: ...

    def call_later(self, delay: float, callback: Callable[[], None]) -> Timer:
        """Call ``callback`` (on the event loop) after ``delay`` seconds."""
        ...


class RealClock:
    """The system clocks and the running event loop's timers."""

    def monotonic(self) -> float:
        return time.monotonic()

    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))

    def call_later(self, delay: float, callback: Callable[[], None]) -> Timer:
        return asyncio.get_running_loop().call_later(max(0.0, delay), callback)


@dataclass(order=True)
class _FakeTimer:
    deadline: float
    seq: int
    callback: Callable[[], None] = field(compare=False)
    cancelled: bool = field(default=False, compare=False)

    def cancel(self) -> None:
        self.cancelled = True


_EPOCH = datetime(2024, 1, 1, tzinfo=UTC)


class FakeClock:
    """A clock that moves only when told to.

    ``monotonic()`` starts at 0.0 and ``now()`` at ``start`` (2024-01-01 UTC by
    default).  ``sleep`` and ``call_later`` register timers; ``advance``
    fires them.  Timers due at the same instant fire in the order they were
    registered.
    """

    def __init__(self, start: datetime = _EPOCH, *, settle_rounds: int = 50) -> None:
        if start.tzinfo is None:
            raise ValueError("FakeClock start must be an aware datetime")
        self._start = start.astimezone(UTC)
        self._mono = 0.0
        self._heap: list[_FakeTimer] = []
        self._seq = itertools.count()
        self.settle_rounds = settle_rounds

    def monotonic(self) -> float:
        return self._mono

    def now(self) -> datetime:
        return self._start + timedelta(seconds=self._mono)

    def call_later(self, delay: float, callback: Callable[[], None]) -> Timer:
        t = _FakeTimer(self._mono + max(0.0, delay), next(self._seq), callback)
        heapq.heappush(self._heap, t)
        return t

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def wake() -> None:
            if not fut.done():
                fut.set_result(None)

        timer = self.call_later(seconds, wake)
        try:
            await fut
        finally:
            timer.cancel()

    def _drop_cancelled(self) -> None:
        while self._heap and self._heap[0].cancelled:
            heapq.heappop(self._heap)

    def pending(self) -> int:
        """How many timers (sleepers included) are waiting."""
        return sum(1 for t in self._heap if not t.cancelled)

    def next_deadline(self) -> float | None:
        """The monotonic time of the next timer, if any."""
        self._drop_cancelled()
        return self._heap[0].deadline if self._heap else None

    async def settle(self) -> None:
        """Let the event loop run ready callbacks and woken tasks for a while."""
        for _ in range(self.settle_rounds):
            await asyncio.sleep(0)

    async def advance(self, seconds: float) -> None:
        """Move time forward, firing each timer that falls due, in order.

        After each timer fires the loop is given a chance to run, so a task
        that wakes and sleeps again inside the window fires again too.
        """
        if seconds < 0:
            raise ValueError("time does not go back")
        target = self._mono + seconds
        await self.settle()
        while True:
            self._drop_cancelled()
            if not self._heap or self._heap[0].deadline > target:
                break
            t = heapq.heappop(self._heap)
            self._mono = max(self._mono, t.deadline)
            t.callback()
            await self.settle()
        self._mono = target
        await self.settle()

    async def advance_to_next(self) -> float:
        """Advance to the next timer's deadline (fire it); return the seconds moved."""
        nxt = self.next_deadline()
        if nxt is None:
            return 0.0
        step = max(0.0, nxt - self._mono)
        await self.advance(step)
        return step


async def wait_for(clock: Clock, aw: Awaitable[T], seconds: float | None) -> T:
    """Like ``asyncio.wait_for`` but timed by ``clock``; raises ``TimeoutError``."""
    if seconds is None:
        return await aw
    task = asyncio.ensure_future(aw)
    expired = False

    def expire() -> None:
        nonlocal expired
        if not task.done():
            expired = True
            task.cancel()

    timer = clock.call_later(seconds, expire)
    try:
        return await task
    except asyncio.CancelledError:
        if expired:
            raise TimeoutError(f"timed out after {seconds} s") from None
        raise
    finally:
        timer.cancel()
