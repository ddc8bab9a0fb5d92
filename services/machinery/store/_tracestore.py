"""Recent spans kept in JetStream, so `kctl trace` works without Jaeger.

Services that publish spans (``JETKUBE_TRACE_PUBLISH=1``, on in `kctl up`
clusters) send each finished span as JSON to ``jetkube.traces.<service>``;
the stream ``JETKUBE_TRACES`` keeps them for an hour (bounded in bytes).
``read_trace`` scans it for one trace id.
"""

from __future__ import annotations

import asyncio
import contextlib
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


async def read_trace(nc: NATS, trace_id: str, *, limit_s: float = 10.0) -> list[dict[str, Any]]:
    """Every kept span of ``trace_id``, oldest first."""
    js = nc.jetstream()
    try:
        info = await js.stream_info(STREAM)
    except jserr.NotFoundError:
        return []
    total = int(info.state.messages)
    if total == 0:
        return []
    spans: list[dict[str, Any]] = []
    seen = 0
    done = asyncio.Event()
    needle = trace_id.encode()

    async def cb(msg: Any) -> None:
        nonlocal seen
        seen += 1
        if needle in msg.data:
            spans.append(orjson.loads(msg.data))
        if msg.metadata.num_pending == 0:
            done.set()

    sub = await js.subscribe(SUBJECTS, cb=cb, ordered_consumer=True,
                             deliver_policy=api.DeliverPolicy.ALL)
    try:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), limit_s)
    finally:
        await sub.unsubscribe()
    spans = [s for s in spans if s.get("trace_id") == trace_id]
    spans.sort(key=lambda s: int(s.get("start") or 0))
    return spans
