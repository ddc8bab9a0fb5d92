"""Wait in a test for a condition: poll it until it holds, or fail saying what was last seen.

    pod = await until(lambda: env.client.get("pods", NS, "web"), message="web created")
    out = wait_until(lambda: cluster.kctl("get", "pods").stdout, timeout=60, message="pods listed")

``until`` is for asyncio tests (the predicate may be sync or async; the event loop runs
between tries); ``wait_until`` blocks, for the e2e tests that poll kctl or the Kubernetes
client.  Both return the predicate's first truthy value and, when time runs out, raise
AssertionError naming ``message`` and the last value seen.  ``accept`` replaces truthiness
(``until(lambda: ingress(env, "web"), accept=lambda got: got == want)`` reports the last
``got``); ``retry_on`` lets exceptions of the given types count as "not yet" (the last one
is reported and chained).

They share one schedule (:class:`_Poll`): the first try is immediate, the pause between
tries starts at ``interval`` and grows by ``backoff`` (1 = fixed) up to ``max_interval``,
and the last try happens at the deadline.

This polls real time.  Tests on a FakeClock advance the clock themselves (the predicate
may do that); the pauses here only let the event loop and the servers run.  Imported by
bare name from tests/ and k8s-like-e2e/ (pyproject's pytest ``pythonpath``).
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")

__all__ = ["until", "wait_until"]

_NOTHING_YET: Any = object()
_MAX_REPR = 2000


def _pauses(timeout: float, interval: float, backoff: float, max_interval: float) -> Iterator[float]:
    """After each failed try, how long to pause before the next; ends once the deadline has
    passed.  The last pause is cut to the time left, so one try happens at the deadline."""
    deadline = time.monotonic() + timeout
    pause = interval
    while (left := deadline - time.monotonic()) > 0:
        yield min(pause, left)
        pause = min(pause * backoff, max_interval)


class _Poll:
    """The deadline, the back-off and the failure report, shared by both forms."""

    def __init__(self, timeout: float, interval: float, message: str, backoff: float,
                 max_interval: float | None) -> None:
        if timeout < 0 or interval <= 0 or backoff < 1:
            raise ValueError("need timeout >= 0, interval > 0 and backoff >= 1")
        self.timeout = timeout
        self.message = message
        self.last: Any = _NOTHING_YET
        self._pauses = _pauses(timeout, interval, backoff,
                               interval if max_interval is None else max(interval, max_interval))

    def pause_after(self, seen: Any) -> float:
        """Record a falsy value (or an exception) and return the pause before the next try;
        raise AssertionError once time is up."""
        self.last = seen
        pause = next(self._pauses, None)
        if pause is None:
            last = repr(seen)
            if len(last) > _MAX_REPR:
                last = last[:_MAX_REPR] + "…"
            cause = seen if isinstance(seen, BaseException) else None
            raise AssertionError(f"{self.message} (not within {self.timeout:g}s; "
                                 f"last value: {last})") from cause
        return pause


async def until(predicate: Callable[[], T | Awaitable[T]], timeout: float = 5.0,  # noqa: ASYNC109
                interval: float = 0.01, message: str = "condition not reached", *,
                backoff: float = 1.0, max_interval: float | None = None,
                retry_on: type[BaseException] | tuple[type[BaseException], ...] = (),
                accept: Callable[[T], object] = bool) -> T:
    """Await ``predicate()`` (sync or async) until it returns something truthy (or that
    ``accept`` takes); return it."""
    poll = _Poll(timeout, interval, message, backoff, max_interval)
    while True:
        try:
            value = predicate()
            if inspect.isawaitable(value):
                value = await value
        except retry_on as err:
            await asyncio.sleep(poll.pause_after(err))
            continue
        if accept(value):  # type: ignore[arg-type]
            return value  # type: ignore[return-value]
        await asyncio.sleep(poll.pause_after(value))


def wait_until(predicate: Callable[[], T], timeout: float = 60.0, interval: float = 0.2,
               message: str = "condition not reached", *, backoff: float = 1.0,
               max_interval: float | None = None,
               retry_on: type[BaseException] | tuple[type[BaseException], ...] = (),
               accept: Callable[[T], object] = bool) -> T:
    """Call ``predicate()`` until it returns something truthy (or that ``accept`` takes);
    return it.  Blocks (time.sleep)."""
    poll = _Poll(timeout, interval, message, backoff, max_interval)
    while True:
        try:
            value = predicate()
        except retry_on as err:
            time.sleep(poll.pause_after(err))
            continue
        if inspect.isawaitable(value):
            if inspect.iscoroutine(value):
                value.close()
            raise TypeError("wait_until() got an async predicate; use `await until(...)`")
        if accept(value):
            return value
        time.sleep(poll.pause_after(value))
