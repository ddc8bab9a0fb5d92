"""``read_trace`` against a real nats-server: it reads what the trace stream keeps, and with
``linger`` keeps listening while the caller says spans may still arrive (services export
finished spans in batches; a parent ends after its children)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest

from jetkube.cli.commands.trace import orphans, still_arriving
from jetkube.services.machinery.store import connect, ensure_trace_stream, read_trace

pytestmark = pytest.mark.integration


@pytest.fixture
async def nc(nats_url: str) -> AsyncIterator[Any]:
    conn = await connect(nats_url)
    await ensure_trace_stream(conn)
    yield conn
    await conn.close()


def _span(trace: str, span: str, parent: str | None, end_s: float) -> dict[str, Any]:
    end = int(end_s * 1e9)
    return {"trace_id": trace, "span_id": span, "parent_id": parent, "name": span,
            "service": "test", "start": end - 1_000_000, "end": end}


async def _publish(nc: Any, span: dict[str, Any]) -> None:
    await nc.jetstream().publish("jetkube.traces.test", orjson.dumps(span))


async def test_a_late_parent_is_waited_for_and_then_reading_stops(nc: Any) -> None:
    trace = uuid.uuid4().hex
    now = time.time()
    await _publish(nc, _span(trace, "child", "root", now))
    await _publish(nc, _span(uuid.uuid4().hex, "other-trace", None, now))
    asked: list[int] = []

    def linger(spans: list[dict[str, Any]]) -> float:
        asked.append(len(spans))
        return 30.0 if orphans(spans) else 0.0

    reader = asyncio.create_task(read_trace(nc, trace, limit_s=30, linger=linger))
    await asyncio.sleep(0.2)
    assert not reader.done()  # the child's parent is missing: it is still listening
    await _publish(nc, _span(trace, "root", None, time.time()))
    spans = await asyncio.wait_for(reader, 10)  # woken by the parent, not by the 30 s
    assert [s["span_id"] for s in spans] == ["child", "root"]
    assert asked[0] == 1 and asked[-1] == 2


async def test_without_linger_it_returns_what_is_kept(nc: Any) -> None:
    trace = uuid.uuid4().hex
    await _publish(nc, _span(trace, "child", "root", time.time()))
    spans = await asyncio.wait_for(read_trace(nc, trace), 10)
    assert [s["span_id"] for s in spans] == ["child"]


def test_kctl_waits_while_a_parent_is_missing_or_the_trace_is_fresh() -> None:
    now = 1_000_000.0
    complete_old = [_span("t", "root", None, now - 60), _span("t", "c", "root", now - 61)]
    assert still_arriving(complete_old, now) < 0
    complete_fresh = [_span("t", "root", None, now - 1)]
    assert still_arriving(complete_fresh, now) == pytest.approx(4.5)
    assert still_arriving([_span("t", "c", "gone", now - 60)], now) == float("inf")
    assert still_arriving([], now) == float("inf")
