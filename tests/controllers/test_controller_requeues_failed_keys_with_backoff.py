"""The reconcile loop: retries with backoff, requeue-after, one worker per key, spans, stop."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from jetkube.services.machinery.client import Controller, Requeue, WorkQueue
from jetkube.services.machinery.runtime import FakeClock, telemetry

_EXPORTER = InMemorySpanExporter()
_PROVIDER = telemetry.setup_telemetry("jetkube-tests")
_PROVIDER.add_span_processor(SimpleSpanProcessor(_EXPORTER))


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    _EXPORTER.clear()
    yield _EXPORTER


def make(clock: FakeClock) -> WorkQueue[str]:
    return WorkQueue(clock, name="test")


async def test_failing_key_is_retried_with_exponential_backoff_then_forgotten(
        spans: InMemorySpanExporter) -> None:
    clock = FakeClock()
    q = make(clock)
    attempts: list[float] = []

    async def reconcile(key: str) -> None:
        attempts.append(clock.monotonic())
        if len(attempts) <= 3:
            raise RuntimeError("API server said no")

    c = Controller("demo", q, reconcile, workers=2)
    c.start()
    q.add("pods.default.a")
    await clock.advance(1)
    assert attempts == pytest.approx([0, 0.005, 0.015, 0.035])
    assert q.num_requeues("pods.default.a") == 0  # success forgets the backoff
    assert (c.reconciles, c.failures) == (4, 3)
    names = {s.name for s in spans.get_finished_spans()}
    assert names == {"reconcile demo"}
    statuses = [s.status.status_code for s in spans.get_finished_spans()]
    assert statuses.count(StatusCode.ERROR) == 3
    await c.stop()


async def test_requeue_after_reconciles_again_later_without_backoff() -> None:
    clock = FakeClock()
    q = make(clock)
    seen: list[float] = []

    async def reconcile(key: str) -> Requeue | None:
        seen.append(clock.monotonic())
        return Requeue(after=30) if len(seen) == 1 else None

    c = Controller("grace", q, reconcile)
    c.start()
    q.add("k")
    await clock.advance(29)
    assert seen == [0]
    await clock.advance(1)
    assert seen == [0, 30]
    assert c.failures == 0
    await c.stop()


async def test_raised_requeue_is_rate_limited_not_an_error() -> None:
    clock = FakeClock()
    q = make(clock)
    seen: list[float] = []

    async def reconcile(key: str) -> None:
        seen.append(clock.monotonic())
        if len(seen) < 3:
            raise Requeue()

    c = Controller("wait", q, reconcile)
    c.start()
    q.add("k")
    await clock.advance(1)
    assert seen == pytest.approx([0, 0.005, 0.015])
    assert c.failures == 0
    await c.stop()


async def test_a_key_is_never_reconciled_by_two_workers_at_once() -> None:
    clock = FakeClock()
    q = make(clock)
    running: set[str] = set()
    overlaps = 0
    runs = 0
    gate = asyncio.Event()

    async def reconcile(key: str) -> None:
        nonlocal overlaps, runs
        overlaps += key in running
        running.add(key)
        runs += 1
        await gate.wait()
        running.discard(key)

    c = Controller("one-at-a-time", q, reconcile, workers=4)
    c.start()
    q.add("k")
    await clock.settle()
    q.add("k")  # changed again while being reconciled
    q.add("k")
    await clock.settle()
    assert runs == 1
    gate.set()
    await clock.settle()
    assert (runs, overlaps) == (2, 0)
    await c.stop()


async def test_reconcile_span_continues_the_trace_of_the_object(
        spans: InMemorySpanExporter) -> None:
    clock = FakeClock()
    q = make(clock)
    tracer = trace.get_tracer("test")
    with tracer.start_as_current_span("kctl apply") as apply_span:
        obj = telemetry.annotate({"metadata": {"name": "web"}})
    objects = {"deployments.default.web": obj}

    async def reconcile(key: str) -> None:
        pass

    c = Controller("deployment", q, reconcile,
                   trace_context=lambda key: telemetry.context_from_object(objects.get(key)))
    c.start()
    q.add("deployments.default.web")
    await clock.settle()
    (span,) = [s for s in spans.get_finished_spans() if s.name == "reconcile deployment"]
    ctx = apply_span.get_span_context()
    assert span.context is not None and span.context.trace_id == ctx.trace_id
    assert span.parent is not None and span.parent.span_id == ctx.span_id
    assert span.attributes is not None
    assert span.attributes["jetkube.key"] == "deployments.default.web"
    await c.stop()


async def test_stop_waits_for_the_current_reconcile_and_cancels_after_the_grace() -> None:
    q: WorkQueue[str] = WorkQueue()
    started = asyncio.Event()
    cancelled = False

    async def reconcile(key: str) -> None:
        nonlocal cancelled
        started.set()
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled = True
            raise

    c = Controller("hung", q, reconcile, workers=2)
    c.start()
    q.add("k")
    await started.wait()
    await asyncio.wait_for(c.stop(grace_seconds=0.05), 2)
    assert cancelled and not c.running
    assert q.shutting_down


async def test_run_stops_cleanly_when_cancelled() -> None:
    q: WorkQueue[str] = WorkQueue()
    done: list[str] = []

    async def reconcile(key: str) -> None:
        done.append(key)

    c = Controller("runner", q, reconcile)
    task = asyncio.create_task(c.run())
    q.add("x")
    for _ in range(10):
        await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert done == ["x"] and not c.running
