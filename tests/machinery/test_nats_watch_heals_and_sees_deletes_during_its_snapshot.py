"""A watch on real nats-server: it heals when its consumer disappears, and a delete
committed while its snapshot is being read is delivered, not dropped."""

from __future__ import annotations

import uuid
from typing import Any

from polling import until

from jetkube.services.machinery.store import EventType, NatsStore, WatchEvent, connect


async def _store(nats_url: str) -> tuple[Any, NatsStore]:
    nc = await connect(nats_url)
    return nc, await NatsStore.open(nc, f"heal{uuid.uuid4().hex[:8]}")


async def test_watch_resumes_after_its_consumer_is_deleted_server_side(nats_url: str) -> None:
    nc, store = await _store(nats_url)
    store.watch_heartbeat = 0.5
    seen: list[WatchEvent] = []
    w = await store.watch("cm.", seen.append)
    try:
        await store.create("cm.a", b"1")
        await until(lambda: any(e.key == "cm.a" for e in seen))
        consumer = w.consumer  # type: ignore[attr-defined]
        first = consumer.name
        assert first in [c.name async for c in _consumers(store)]  # the target exists
        await store.js.delete_consumer(store.stream, first)
        await store.create("cm.b", b"2")  # written while nobody delivers to the watch
        await until(lambda: any(e.key == "cm.b" for e in seen), timeout=10)
        assert consumer.name != first and consumer.resets >= 1
        await store.create("cm.c", b"3")
        await until(lambda: any(e.key == "cm.c" for e in seen))
        puts = [e.key for e in seen if e.type is EventType.PUT]
        assert puts == ["cm.a", "cm.b", "cm.c"]  # nothing missed, nothing repeated
    finally:
        await w.stop()
        await nc.close()


async def _consumers(store: NatsStore) -> Any:
    for info in await store.js.consumers_info(store.stream):
        yield info


async def test_delete_during_the_snapshot_is_delivered(nats_url: str) -> None:
    """The watch's start revision is taken before its consumer exists; a delete committed
    in between arrives while the snapshot is still being read (a tombstone newer than the
    start), and must reach the handler, or the cache keeps a ghost."""
    nc, store = await _store(nats_url)
    for i in range(200):
        await store.create(f"cm.k{i}", b"x")
    seen: list[WatchEvent] = []
    real_current = store.current_revision

    async def current_then_delete() -> int:
        rev = await real_current()
        await store.delete("cm.k0")  # lands after the start revision, before the snapshot
        return rev

    store.current_revision = current_then_delete  # type: ignore[method-assign]
    w = await store.watch("cm.", seen.append)
    try:
        await until(lambda: any(e.type is EventType.SYNCED for e in seen))
        deletes = [e.key for e in seen if e.type is EventType.DELETE]
        assert deletes == ["cm.k0"]
        live: set[str] = set()
        for e in seen:
            if e.type is EventType.PUT:
                live.add(e.key)
            elif e.type is EventType.DELETE:
                live.discard(e.key)
        assert "cm.k0" not in live and len(live) == 199
    finally:
        await w.stop()
        await nc.close()


async def test_list_leaves_out_a_key_deleted_while_it_read(nats_url: str) -> None:
    nc, store = await _store(nats_url)
    await store.create("cm.a", b"1")
    await store.create("cm.b", b"2")
    real_current = store.current_revision

    async def current_then_delete() -> int:
        rev = await real_current()
        await store.delete("cm.a")
        return rev

    store.current_revision = current_then_delete  # type: ignore[method-assign]
    try:
        items, rev = await store.list("cm.")
        assert [e.key for e in items] == ["cm.b"]
        assert rev == await real_current()
    finally:
        await nc.close()
