"""The reconcile loop every jetkube controller runs.

A :class:`Controller` owns N worker tasks that take keys from a
:class:`~._workqueue.WorkQueue` and call ``reconcile(key)``, which is
level-triggered: it reads the current state from informer caches and moves
the world one step toward the desired state.  Outcomes:

- returns normally (``None``): success, ``queue.forget(key)`` resets its backoff;
- raises an exception: logged, the key is retried with ``add_rate_limited``
  (per-key exponential backoff, overall token bucket);
- returns **or** raises :class:`Requeue`: ``Requeue(after=s)`` with ``s > 0``
  forgets the backoff and re-queues the key after ``s`` seconds (for "check
  again later": grace periods, lease expiry); ``Requeue()`` re-queues it
  rate-limited, without logging an error (for "not ready yet": expectations
  pending, a conflict to retry).

A key is never reconciled by two workers at once (the queue guarantees it).
Every reconcile runs in an OpenTelemetry span ``reconcile <name>``; if a
``trace_context(key)`` function is given (e.g. mapping the key to the cached
object's :func:`~..runtime.telemetry.context_from_object`), the span continues that
trace.  A reconcile the sampler would drop builds no span and no attributes
(:func:`~..runtime.telemetry.start_span`): it runs in its trace's unsampled context.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Status, StatusCode
from opentelemetry.util.types import AttributeValue

from ..runtime.telemetry import start_span
from ._workqueue import ShutDown, WorkQueue

log = logging.getLogger(__name__)
_tracer = trace.get_tracer(__name__)


class Requeue(Exception):
    """Ask for ``key`` to be reconciled again: after ``after`` seconds, or rate-limited if 0."""

    def __init__(self, after: float = 0.0, reason: str = "") -> None:
        super().__init__(reason or f"requeue after {after}s")
        self.after = after
        self.reason = reason


ReconcileFunc = Callable[[str], Awaitable[Requeue | None]]
TraceContextFunc = Callable[[str], Context | None]


class Controller:
    def __init__(
        self,
        name: str,
        queue: WorkQueue[str],
        reconcile: ReconcileFunc,
        workers: int = 1,
        *,
        trace_context: TraceContextFunc | None = None,
    ) -> None:
        if workers < 1:
            raise ValueError("a controller needs at least one worker")
        self.name = name
        self.queue = queue
        self.reconcile = reconcile
        self.workers = workers
        self.trace_context = trace_context
        self._span_name = f"reconcile {name}"
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False
        self.reconciles = 0  # counters, for tests and metrics
        self.failures = 0

    @property
    def running(self) -> bool:
        return any(not t.done() for t in self._tasks)

    def start(self) -> None:
        """Start the workers (call after the informers this controller reads have synced)."""
        if self._tasks:
            return
        self._stopping = False
        self._tasks = [asyncio.create_task(self._worker(i), name=f"{self.name} worker {i}")
                       for i in range(self.workers)]

    async def stop(self, grace_seconds: float | None = None) -> None:
        """Shut the queue down and wait for in-flight reconciles (cancel them after the grace)."""
        self._stopping = True
        self.queue.shutdown()
        tasks, self._tasks = self._tasks, []
        if not tasks:
            return
        _, pending = await asyncio.wait(tasks, timeout=grace_seconds)
        for t in pending:
            t.cancel()
        for t in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await t

    async def run(self) -> None:
        """Start, then wait until cancelled (stopping cleanly); for use under leader election."""
        self.start()
        try:
            await asyncio.gather(*self._tasks)
        finally:
            await self.stop()

    async def _worker(self, index: int) -> None:
        while not self._stopping:
            try:
                key = await self.queue.get()
            except ShutDown:
                return
            try:
                await self.process(key)
            finally:
                self.queue.done(key)

    async def process(self, key: str) -> None:
        """Reconcile one key and decide what becomes of it (the body of a worker)."""
        ctx = None
        if self.trace_context is not None:
            try:
                ctx = self.trace_context(key)
            except Exception:
                log.debug("%s: no trace context for %s", self.name, key, exc_info=True)
        self.reconciles += 1

        def attrs() -> dict[str, AttributeValue]:  # only for a span that is recorded
            return {"jetkube.controller": self.name, "jetkube.key": key,
                    "jetkube.requeues": self.queue.num_requeues(key)}

        with start_span(_tracer, self._span_name, context=ctx, attributes=attrs,
                        record_exception=False, set_status_on_exception=False) as span:
            try:
                result = await self.reconcile(key)
            except Requeue as rq:
                result = rq
            except asyncio.CancelledError:
                raise
            except Exception as err:
                self.failures += 1
                if span.is_recording():
                    span.record_exception(err)
                    span.set_status(Status(StatusCode.ERROR, str(err)))
                log.exception("%s: reconcile %s failed (requeue %d)", self.name, key,
                              self.queue.num_requeues(key) + 1)
                self.queue.add_rate_limited(key)
                return
            if result is None:
                self.queue.forget(key)
                return
            if span.is_recording():
                span.set_attribute("jetkube.requeue_after", result.after)
            if result.after > 0:
                self.queue.forget(key)
                self.queue.add_after(key, result.after)
            else:
                self.queue.add_rate_limited(key)
