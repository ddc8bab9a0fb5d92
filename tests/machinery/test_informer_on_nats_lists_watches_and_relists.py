"""The informer on a real NATS KV bucket: list-then-watch, and healing a stopped watch."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import orjson
import pytest
from polling import until

from jetkube.services.machinery.client import Informer
from jetkube.services.machinery.store import Entry, NatsStore, Watch, WatchHandler

pytestmark = pytest.mark.integration


class StoppableWatches:
    """Delegates to a NatsStore and remembers its watches so the test can stop them."""

    def __init__(self, inner: NatsStore) -> None:
        self.inner = inner
        self.watches: list[Watch] = []
        self.since: list[int | None] = []

    async def create(self, key: str, value: bytes) -> int:
        return await self.inner.create(key, value)

    async def get(self, key: str) -> Entry:
        return await self.inner.get(key)

    async def update(self, key: str, value: bytes, revision: int) -> int:
        return await self.inner.update(key, value, revision)

    async def delete(self, key: str, revision: int | None = None) -> int:
        return await self.inner.delete(key, revision)

    async def list(self, prefix: str) -> tuple[list[Entry], int]:
        return await self.inner.list(prefix)

    async def watch(self, prefix: str, handler: WatchHandler, *,
                    since: int | None = None) -> Watch:
        self.since.append(since)
        w = await self.inner.watch(prefix, handler, since=since)
        self.watches.append(w)
        return w

    async def current_revision(self) -> int:
        return await self.inner.current_revision()

    async def close(self) -> None:
        await self.inner.close()

    async def stop_watches(self) -> None:
        for w in self.watches:
            await w.stop()


def pod(name: str, phase: str = "Pending") -> bytes:
    return orjson.dumps({"metadata": {"name": name, "namespace": "default"},
                         "status": {"phase": phase}})


async def test_informer_on_nats_lists_watches_and_relists(nats_store: NatsStore) -> None:
    store = StoppableWatches(nats_store)
    await store.create("pods.default.a", pod("a"))
    await store.create("pods.default.b", pod("b"))
    await store.create("pods.default.gone", pod("gone"))
    await store.delete("pods.default.gone")
    events: list[tuple[str, str, str]] = []

    def rec(kind: str) -> Callable[..., None]:
        def h(*objs: dict[str, Any]) -> None:
            o = objs[-1]
            events.append((kind, o["metadata"]["name"], o["status"]["phase"]))
        return h

    inf = Informer(store, "pods.")
    inf.add_event_handler(rec("add"), rec("update"), rec("delete"))
    inf.start()
    await asyncio.wait_for(inf.wait_synced(), 5)
    assert sorted(events) == [("add", "a", "Pending"), ("add", "b", "Pending")]
    events.clear()

    # live: the watch follows the snapshot
    e = await store.get("pods.default.a")
    rev = await store.update("pods.default.a", pod("a", "Running"), e.revision)
    await until(lambda: len(events) == 1)
    assert events == [("update", "a", "Running")]
    assert inf.get("pods.default.a")["metadata"]["resourceVersion"] == str(rev)  # type: ignore[index]
    events.clear()

    # the watch stops; changes made meanwhile are missed ... until a relist diffs them in
    await store.stop_watches()
    await store.delete("pods.default.b")
    await store.create("pods.default.c", pod("c"))
    e = await store.get("pods.default.a")
    await store.update("pods.default.a", pod("a", "Succeeded"), e.revision)
    await asyncio.sleep(0.2)  # absence check: with the watch stopped, no event arrives
    assert events == []
    await asyncio.wait_for(inf.relist(), 5)
    assert sorted(events) == [("add", "c", "Pending"), ("delete", "b", "Pending"),
                              ("update", "a", "Succeeded")]
    assert sorted(inf.keys()) == ["pods.default.a", "pods.default.c"]
    events.clear()

    # stopped again: resume watches from the last revision seen, missing nothing
    await store.stop_watches()
    last = inf.last_revision
    await store.create("pods.default.d", pod("d"))
    await store.delete("pods.default.c")
    await asyncio.wait_for(inf.resume(), 5)
    assert store.since[-1] == last
    await until(lambda: len(events) == 2)
    assert events == [("add", "d", "Pending"), ("delete", "c", "Pending")]
    await inf.stop()
