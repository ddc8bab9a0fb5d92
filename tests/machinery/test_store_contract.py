"""The store contract, run against the in-memory store and real NATS KV alike."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from polling import until

from jetkube.services.machinery.store import (
    AlreadyExists,
    Conflict,
    EventType,
    NotFound,
    WatchEvent,
)


async def test_create_then_get_returns_value_and_revision(store: Any) -> None:
    rev = await store.create("pods.default.a", b'{"x":1}')
    e = await store.get("pods.default.a")
    assert (e.value, e.revision) == (b'{"x":1}', rev)


async def test_the_current_revision_is_the_last_writes(store: Any) -> None:
    rev = await store.create("pods.default.a", b"1")
    assert await store.current_revision() == rev
    rev = await store.update("pods.default.a", b"2", rev)
    rev = await store.delete("pods.default.a", rev)
    assert await store.current_revision() == rev


async def test_create_twice_is_already_exists(store: Any) -> None:
    await store.create("pods.default.a", b"1")
    with pytest.raises(AlreadyExists):
        await store.create("pods.default.a", b"2")
    assert (await store.get("pods.default.a")).value == b"1"


async def test_update_with_stale_revision_is_conflict_and_writes_nothing(store: Any) -> None:
    r1 = await store.create("pods.default.a", b"1")
    r2 = await store.update("pods.default.a", b"2", r1)
    assert r2 > r1
    with pytest.raises(Conflict):
        await store.update("pods.default.a", b"3", r1)
    assert (await store.get("pods.default.a")).value == b"2"


async def test_update_or_delete_missing_key_is_not_found(store: Any) -> None:
    with pytest.raises(NotFound):
        await store.update("pods.default.nope", b"1", 1)
    with pytest.raises(NotFound):
        await store.delete("pods.default.nope")
    with pytest.raises(NotFound):
        await store.get("pods.default.nope")


async def test_delete_then_recreate(store: Any) -> None:
    r1 = await store.create("pods.default.a", b"1")
    with pytest.raises(Conflict):
        await store.delete("pods.default.a", r1 - 1 if r1 > 1 else r1 + 5)
    await store.delete("pods.default.a", r1)
    with pytest.raises(NotFound):
        await store.get("pods.default.a")
    r3 = await store.create("pods.default.a", b"again")
    assert r3 > r1
    assert (await store.get("pods.default.a")).value == b"again"


async def test_list_returns_live_keys_under_prefix_only(store: Any) -> None:
    await store.create("pods.default.a", b"a")
    await store.create("pods.default.b", b"b")
    await store.create("pods.other.c", b"c")
    await store.create("services.default.a", b"s")
    await store.delete("pods.default.b")
    items, rev = await store.list("pods.")
    assert sorted(e.key for e in items) == ["pods.default.a", "pods.other.c"]
    assert rev >= max(e.revision for e in items)
    items, _ = await store.list("pods.default.")
    assert [e.key for e in items] == ["pods.default.a"]
    items, _ = await store.list("nothing.")
    assert items == []


async def test_watch_from_list_revision_misses_nothing_and_repeats_nothing(store: Any) -> None:
    await store.create("pods.default.a", b"a")
    _, rev = await store.list("pods.")
    seen: list[WatchEvent] = []
    w = await store.watch("pods.", seen.append, since=rev)
    r_b = await store.create("pods.default.b", b"b")
    await store.create("services.default.x", b"x")
    r_a = await store.update("pods.default.a", b"a2", (await store.get("pods.default.a")).revision)
    r_d = await store.delete("pods.default.b")
    await until(lambda: len(seen) >= 3)
    await asyncio.sleep(0.05)  # absence check: no fourth event (a repeat, or the service) follows
    assert [(e.type, e.key, e.revision) for e in seen] == [
        (EventType.PUT, "pods.default.b", r_b),
        (EventType.PUT, "pods.default.a", r_a),
        (EventType.DELETE, "pods.default.b", r_d),
    ]
    await w.stop()


async def test_list_then_watch_gives_snapshot_synced_then_live(store: Any) -> None:
    await store.create("pods.default.a", b"a")
    await store.create("pods.default.gone", b"g")
    await store.delete("pods.default.gone")
    seen: list[WatchEvent] = []
    w = await store.watch("pods.", seen.append)
    await until(lambda: any(e.type is EventType.SYNCED for e in seen))
    assert [(e.type, e.key) for e in seen] == [
        (EventType.PUT, "pods.default.a"),
        (EventType.SYNCED, ""),
    ]
    rev = await store.create("pods.default.b", b"b")
    await until(lambda: len(seen) == 3)
    assert (seen[-1].type, seen[-1].key, seen[-1].revision) == (EventType.PUT, "pods.default.b", rev)
    await w.stop()


async def test_list_then_watch_of_empty_prefix_is_synced_at_once(store: Any) -> None:
    seen: list[WatchEvent] = []
    w = await store.watch("nothing.", seen.append)
    await until(lambda: len(seen) == 1)
    assert seen[0].type is EventType.SYNCED
    await w.stop()
