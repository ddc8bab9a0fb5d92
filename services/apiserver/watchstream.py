"""Turning a cache watcher into watch events (JSON lines), shared by both faces.

Yields, in order: the state the watch starts from (``watcher.initial``) as ADDED lines, a
few hundred to a write; for a WatchList (``sendInitialEvents=true``) that allowed
bookmarks, one BOOKMARK whose object carries only the state's resourceVersion and the
``k8s.io/initial-events-end: "true"`` annotation, as kube-apiserver sends it; then one line
per live event.  A BOOKMARK line carrying the cache's revision follows every
``bookmark_interval`` seconds without events when the client allowed bookmarks.  Stops at
the client's timeoutSeconds (also while the initial state is being sent) or when the
watcher overflowed (the client then re-watches or relists, as with Kubernetes).  When the
client asked for Tables, every event's object (BOOKMARKs' too) is a Table of one row
(tables.py), the first one with the column definitions.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator

import orjson

from .response import WatchResponse
from .tables import WatchTables
from .watchcache import Cached, WatchCache

INITIAL_EVENTS_END = "k8s.io/initial-events-end"
"""The annotation that marks the bookmark ending a WatchList's initial events."""

INITIAL_BATCH = 500
"""Initial ADDED events joined into one write."""


class _Lines:
    """Event lines: the cached object's JSON as it is, or (Tables) a Table of it."""

    def __init__(self, w: WatchResponse) -> None:
        self.w = w
        self.tables = WatchTables(w.table, w.kind, w.api_version) if w.table else None

    def event(self, etype: str, c: Cached) -> list[bytes]:
        if self.tables is not None:
            return [self.tables.line(etype, c.served())]
        return [b'{"type":"', etype.encode(), b'","object":', c.raw, b"}\n"]

    def bookmark(self, rv: int, *, initial_events_end: bool = False) -> bytes:
        if self.tables is None:
            return bookmark_line(self.w, rv, initial_events_end=initial_events_end)
        return self.tables.line("BOOKMARK", _bookmark(self.w, rv, initial_events_end))


def _bookmark(w: WatchResponse, rv: int, initial_events_end: bool) -> dict[str, object]:
    md: dict[str, object] = {"resourceVersion": str(rv)}
    if initial_events_end:
        md["annotations"] = {INITIAL_EVENTS_END: "true"}
    return {"kind": w.kind, "apiVersion": w.api_version, "metadata": md}


def bookmark_line(w: WatchResponse, rv: int, *, initial_events_end: bool = False) -> bytes:
    """A BOOKMARK event: an object of the watched kind with only its resourceVersion (and,
    ending a WatchList's initial events, the ``k8s.io/initial-events-end`` annotation)."""
    obj = _bookmark(w, rv, initial_events_end)
    return orjson.dumps({"type": "BOOKMARK", "object": obj}) + b"\n"


async def watch_lines(w: WatchResponse, cache: WatchCache,
                      bookmark_interval: float = 30.0) -> AsyncGenerator[bytes, None]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + w.timeout if w.timeout else None
    q = w.watcher.queue
    initial = w.watcher.initial
    lines = _Lines(w)
    try:
        while initial:
            if deadline is not None and loop.time() >= deadline:
                return
            parts: list[bytes] = []
            for _ in range(min(INITIAL_BATCH, len(initial))):
                parts += lines.event("ADDED", initial.popleft())
            yield b"".join(parts)
        if w.initial_events_end and w.watcher.initial_rv is not None:
            yield lines.bookmark(w.watcher.initial_rv, initial_events_end=True)
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
                    yield lines.bookmark(cache.rv)
                continue
            if item is None:
                return
            parts = lines.event(item[0], item[1])
            # drain whatever else is ready into the same write
            while not q.empty():
                nxt = q.get_nowait()
                if nxt is None:
                    break
                parts += lines.event(nxt[0], nxt[1])
            yield b"".join(parts)
    finally:
        cache.remove_watcher(w.watcher)
