"""The API server's watch cache on real NATS heals when the consumer behind its
list-then-watch is deleted server-side: what was written meanwhile reaches the cache and
its watchers once each, in order (the watch's OrderedConsumer notices the missed
heartbeats and resumes from the last revision it handed on)."""

from __future__ import annotations

import asyncio
import uuid

import orjson
import pytest
from polling import until

from jetkube.services.apiserver.watchcache import CacheWatcher, WatchCache
from jetkube.services.machinery.store import NatsStore, connect

pytestmark = pytest.mark.integration


def cm(name: str) -> bytes:
    return orjson.dumps({"apiVersion": "v1", "kind": "ConfigMap",
                         "metadata": {"name": name, "namespace": "default"}})


async def test_watch_cache_heals_after_its_consumer_is_deleted(nats_url: str) -> None:
    nc = await connect(nats_url)
    store = await NatsStore.open(nc, f"wcheal{uuid.uuid4().hex[:8]}")
    store.watch_heartbeat = 0.3
    cache = WatchCache(store)
    try:
        await store.create("configmaps.default.a", cm("a"))
        await store.create("configmaps.default.b", cm("b"))
        await asyncio.wait_for(cache.start(), 10)
        items = cache.resource("configmaps").items
        assert sorted(items) == ["configmaps.default.a", "configmaps.default.b"]
        watcher = CacheWatcher("configmaps", "default", lambda _c: True)
        cache.add_watcher(watcher, cache.rv)

        consumers = [c.name for c in await store.js.consumers_info(store.stream)]
        assert len(consumers) == 1  # the cache's one list-then-watch
        await store.js.delete_consumer(store.stream, consumers[0])
        r_del = await store.delete("configmaps.default.a")  # while nobody delivers to the cache
        r_c = await store.create("configmaps.default.c", cm("c"))

        await until(lambda: cache.rv >= r_c, timeout=10, message="the cache catches up")
        await cache.wait_fresh()
        assert sorted(items) == ["configmaps.default.b", "configmaps.default.c"]
        got = []
        while not watcher.queue.empty():
            ev = watcher.queue.get_nowait()
            assert ev is not None
            got.append((ev[0], ev[1].name, ev[1].rv))
        assert got == [("DELETED", "a", r_del), ("ADDED", "c", r_c)]  # once each, in order
        assert [c.name for c in await store.js.consumers_info(store.stream)] != consumers
    finally:
        await cache.stop()
        await store.js.delete_key_value(store.bucket)
        await nc.close()
