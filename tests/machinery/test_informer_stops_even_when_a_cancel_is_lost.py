"""Informer.stop ends its tasks even when a cancellation is lost: Python 3.11's
asyncio.wait_for (used inside nats-py) can swallow a cancel that races a reply, so the
informer's list carried on and waited forever for a snapshot whose events stop() had
already disowned.  stop() now cancels again until the task is done."""

from __future__ import annotations

import asyncio
from typing import Any

from jetkube.services.machinery.client import Informer
from jetkube.services.machinery.store import MemoryStore


class SwallowingStore(MemoryStore):
    """A store whose first watch() call loses one cancellation, as the race does."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = asyncio.Event()
        self.release = asyncio.Event()

    async def watch(self, prefix: str, handler: Any, *, since: int | None = None) -> Any:
        self.entered.set()
        try:
            await self.release.wait()
        except asyncio.CancelledError:
            pass  # lost: the caller goes on as if the call had returned
        return await super().watch(prefix, handler, since=since)


async def test_stop_returns_although_the_list_swallowed_its_cancel() -> None:
    store = SwallowingStore()
    await store.create("pods.default.a", b'{"metadata": {"name": "a", "namespace": "default"}}')
    inf = Informer(store, "pods.", name="pods")
    inf.start()
    await asyncio.wait_for(store.entered.wait(), 5)

    stopping = asyncio.ensure_future(inf.stop())
    done, _ = await asyncio.wait({stopping}, timeout=3)  # (no wait_for: it would cancel)

    assert stopping in done, "stop() hung on the informer task that lost its cancel"
    assert not inf.has_synced()
