"""Turning a cache watcher into watch events (JSON lines), shared by both faces.

Yields, in order: the state the watch starts from (``watcher.initial``) as ADDED lines, a
few hundred to a write; for a WatchList (``sendInitialEvents=true``) that allowed
bookmarks, one BOOKMARK whose object carries only the state's resourceVersion and the
``k8s.io/initial-events-end: "true"`` annotation, as kube-apiserver sends it; then one line
per live event.  A BOOKMARK line carrying the cache's revision follows every
``bookmark_interval`` seconds without events when the client allowed bookmarks.  Stops at
the client's timeoutSeconds (also while the initial state is being sent) or when the
watcher overflowed (the client then re-watches or relists, as with Kubernetes).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator

import orjson

from .response import WatchResponse
from .watchcache import Cached, WatchCache

INITIAL_EVENTS_END = "k8s.io/initial-events-end"
"""The annotation that marks the bookmark ending a WatchList's initial events."""

INITIAL_BATCH = 500
"""Initial ADDED events joined into one write."""


def _event(etype: bytes, c: Cached) -> list[bytes]:
    return [b'{"type":"', etype, b'","object":', c.raw, b"}\n"]


def bookmark_line(w: WatchResponse, rv: int, *, initial_events_end: bool = False) -> bytes:
    """A BOOKMARK event: an object of the watched kind with only its resourceVersion (and,
    ending a WatchList's initial events, the ``k8s.io/initial-events-end`` annotation)."""
    md: dict[str, object] = {"resourceVersion": str(rv)}
    if initial_events_end:
        md["annotations"] = {INITIAL_EVENTS_END: "true"}
    obj = {"kind": w.kind, "apiVersion": w.api_version, "metadata": md}
    return orjson.dumps({"type": "BOOKMARK", "object": obj}) + b"\n"


async def watch_lines(w: WatchResponse, cache: WatchCache,
                      bookmark_interval: float = 30.0) -> AsyncGenerator[bytes, None]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + w.timeout if w.timeout else None
    q = w.watcher.queue
    initial = w.watcher.initial
    try:
        while initial:
            if deadline is not None and loop.time() >= deadline:
                return
            parts: list[bytes] = []
            for _ in range(min(INITIAL_BATCH, len(initial))):
                parts += _event(b"ADDED", initial.popleft())
            yield b"".join(parts)
        if w.initial_events_end and w.watcher.initial_rv is not None:
            yield bookmark_line(w, w.watcher.initial_rv, initial_events_end=True)
        while True:
            if w.watcher.overflowed and q.empty():
                return
            wait = bookmark_interval if w.bookmarks else None
            if deadline is not None:
                left = deadline - loop.time()
                if left <= 0:
                    return
                wait = left if wait is None else min(wait, left)
            try:
                item = await asyncio.wait_for(q.get(), wait) if wait else await q.get()
            except TimeoutError:
                if w.bookmarks:
                    yield bookmark_line(w, cache.rv)
                continue
            if item is None:
                return
            parts = _event(item[0].encode(), item[1])
            # drain whatever else is ready into the same write
            while not q.empty():
                nxt = q.get_nowait()
                if nxt is None:
                    break
                parts += _event(nxt[0].encode(), nxt[1])
            yield b"".join(parts)
    finally:
        cache.remove_watcher(w.watcher)
