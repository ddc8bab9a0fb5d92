"""Turning a cache watcher into watch events (JSON lines), shared by both faces.

Yields one line per event; a BOOKMARK line carrying the cache's revision
every ``bookmark_interval`` seconds when the client allowed bookmarks; stops
at the client's timeoutSeconds or when the watcher overflowed (the client
then re-watches or relists, as with Kubernetes).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator

from .response import WatchResponse
from .watchcache import WatchCache


async def watch_lines(w: WatchResponse, cache: WatchCache,
                      bookmark_interval: float = 30.0) -> AsyncGenerator[bytes, None]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + w.timeout if w.timeout else None
    q = w.watcher.queue
    try:
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
                    yield (b'{"type":"BOOKMARK","object":{"kind":"' + w.kind.encode()
                           + b'","apiVersion":"' + w.api_version.encode()
                           + b'","metadata":{"resourceVersion":"' + str(cache.rv).encode()
                           + b'"}}}\n')
                continue
            if item is None:
                return
            etype, c = item
            parts = [b'{"type":"', etype.encode(), b'","object":', c.raw, b"}\n"]
            # drain whatever else is ready into the same write
            while not q.empty():
                nxt = q.get_nowait()
                if nxt is None:
                    break
                parts += [b'{"type":"', nxt[0].encode(), b'","object":', nxt[1].raw, b"}\n"]
            yield b"".join(parts)
    finally:
        cache.remove_watcher(w.watcher)
