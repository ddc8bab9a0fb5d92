"""Recent spans kept in JetStream, so `kctl trace` works without Jaeger.

Services that publish spans (``JETKUBE_TRACE_PUBLISH=1``, on in `kctl up`
clusters) send each finished span as JSON to ``jetkube.traces.<service>``;
the stream ``JETKUBE_TRACES`` keeps them for an hour (bounded in bytes).
``read_trace`` scans it for one trace id.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

import orjson
from nats.aio.client import Client as NATS
from nats.js import api
from nats.js import errors as jserr

from ._streams import ensure_stream

STREAM = "JETKUBE_TRACES"
SUBJECTS = "jetkube.traces.>"


async def ensure_trace_stream(nc: NATS, *, max_age: float = 3600.0,
                              max_bytes: int = 256 * 1024 * 1024, replicas: int = 1) -> None:
    await ensure_stream(nc.jetstream(), api.StreamConfig(
        name=STREAM, subjects=[SUBJECTS], max_age=max_age, max_bytes=max_bytes,
        storage=api.StorageType.FILE, discard=api.DiscardPolicy.OLD, num_replicas=replicas))


async def read_trace(nc: NATS, trace_id: str, *, limit_s: float = 10.0,
                     linger: Callable[[list[dict[str, Any]]], float] | None = None,
                     ) -> list[dict[str, Any]]:
    """Every kept span of ``trace_id``, oldest first.

    Once the stream is read to its end, ``linger(spans)`` (if given) says how many more
    seconds spans of this trace may still arrive (services export in batches); the
    consumer stays open that long, woken by each new span of the trace to ask again, and
    never past ``limit_s`` in all."""
    deadline = asyncio.get_running_loop().time() + limit_s
    js = nc.jetstream()
    try:
        info = await js.stream_info(STREAM)
    except jserr.NotFoundError:
        return []
    spans: list[dict[str, Any]] = []
    done, arrived = asyncio.Event(), asyncio.Event()
    if int(info.state.messages) == 0:
        if linger is None:
            return []
        done.set()  # nothing kept yet: only what arrives while lingering
    needle = trace_id.encode()

    async def cb(msg: Any) -> None:
        if needle in msg.data:
            span = orjson.loads(msg.data)
            if span.get("trace_id") == trace_id:
                spans.append(span)
                arrived.set()
        if msg.metadata.num_pending == 0:
            done.set()

    sub = await js.subscribe(SUBJECTS, cb=cb, ordered_consumer=True,
                             deliver_policy=api.DeliverPolicy.ALL)
    loop = asyncio.get_running_loop()
    try:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), limit_s)
            while linger is not None and (wait := min(linger(spans),
                                                      deadline - loop.time())) > 0:
                arrived.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(arrived.wait(), wait)
                if not arrived.is_set():
                    break
    finally:
        await sub.unsubscribe()
    spans.sort(key=lambda s: int(s.get("start") or 0))
    return spans
