"""A key written with a TTL expires by itself, as a delete every watcher sees.

The store contract's ``create``/``update(..., ttl=)`` (the API server's ``--event-ttl``):
on the in-memory store on its clock (fake time here), on NATS through JetStream's
per-message TTL and the delete marker the server puts in the expired message's place.
The ``store`` fixture (tests/conftest.py) runs each contract test on both stores; on
those, time is real and the TTLs the shortest allowed (1 s), and the tests poll.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from polling import until

from jetkube.services.machinery.runtime import FakeClock
from jetkube.services.machinery.store import (
    MIN_TTL,
    EventType,
    MemoryStore,
    NatsStore,
    NotFound,
    WatchEvent,
    connect,
)
from jetkube.services.machinery.store._nats import ttl_header

EXPIRY = 8.0
"""How long a test waits for a 1 s TTL to run out on real time (the server's expiry
timer is coarse; measured: under 0.3 s late)."""


class Recorder:
    def __init__(self) -> None:
        self.events: list[WatchEvent] = []

    def __call__(self, ev: WatchEvent) -> None:
        self.events.append(ev)

    def of(self, key: str) -> list[tuple[EventType, int]]:
        return [(e.type, e.revision) for e in self.events if e.key == key]

    def deletes(self, key: str) -> list[int]:
        return [rev for t, rev in self.of(key) if t is EventType.DELETE]


async def gone(store: Any, key: str) -> bool:
    try:
        await store.get(key)
    except NotFound:
        return True
    return False


async def test_memory_store_expires_a_key_on_fake_time_and_watchers_see_a_delete() -> None:
    clock = FakeClock()
    store = MemoryStore(clock=clock)
    seen = Recorder()
    await store.watch("events.", seen, since=0)
    rev = await store.create("events.default.e1", b'{"n":1}', ttl=60)
    await store.create("configmaps.default.c1", b'{"n":1}')
    await clock.advance(59)
    assert (await store.get("events.default.e1")).revision == rev
    await clock.advance(1)
    assert await gone(store, "events.default.e1")
    assert (await store.get("configmaps.default.c1")).value == b'{"n":1}'
    deletes = seen.deletes("events.default.e1")
    assert len(deletes) == 1 and deletes[0] > rev
    items, _ = await store.list("")
    assert [e.key for e in items] == ["configmaps.default.c1"]


async def test_memory_store_counts_the_ttl_from_the_last_write() -> None:
    clock = FakeClock()
    store = MemoryStore(clock=clock)
    rev = await store.create("events.default.e1", b"1", ttl=60)
    await clock.advance(50)
    rev = await store.update("events.default.e1", b"2", rev, ttl=60)
    await clock.advance(50)  # 100 s after the create, 50 s after the update
    assert (await store.get("events.default.e1")).value == b"2"
    await clock.advance(10)
    assert await gone(store, "events.default.e1")
    # an update without a TTL keeps the key until it is deleted
    rev = await store.create("events.default.e2", b"1", ttl=60)
    await store.update("events.default.e2", b"2", rev)
    await clock.advance(3600)
    assert (await store.get("events.default.e2")).value == b"2"


async def test_memory_store_expiry_after_a_delete_and_recreate_removes_only_the_new_key() -> None:
    clock = FakeClock()
    store = MemoryStore(clock=clock)
    seen = Recorder()
    await store.watch("", seen, since=0)
    await store.create("events.default.e1", b"old", ttl=60)
    await clock.advance(30)
    await store.delete("events.default.e1")
    await store.create("events.default.e1", b"new", ttl=60)
    await clock.advance(45)  # the old write's TTL has passed: nothing happens
    assert (await store.get("events.default.e1")).value == b"new"
    await clock.advance(15)
    assert await gone(store, "events.default.e1")
    await clock.settle()
    assert len(seen.deletes("events.default.e1")) == 2  # the delete, then the expiry


async def test_a_key_written_with_a_ttl_expires_and_every_watcher_sees_a_delete(
        store: Any) -> None:
    start = await store.current_revision()
    from_rev, snapshot_then_live = Recorder(), Recorder()
    w1 = await store.watch("events.", from_rev, since=start)
    w2 = await store.watch("events.", snapshot_then_live)
    try:
        rev = await store.create("events.default.e1", b'{"n":1}', ttl=MIN_TTL)
        await store.create("configmaps.default.c1", b'{"n":1}')
        items, _ = await store.list("events.")
        assert [e.key for e in items] == ["events.default.e1"]
        await until(lambda: gone(store, "events.default.e1"), timeout=EXPIRY,
                    message="the key with a TTL expired")
        for seen in (from_rev, snapshot_then_live):
            await until(lambda seen=seen: seen.deletes("events.default.e1"), timeout=5,
                        message="the watch saw the expiry as a DELETE")
        expired_at = from_rev.deletes("events.default.e1")
        assert len(expired_at) == 1 and expired_at[0] > rev
        assert snapshot_then_live.deletes("events.default.e1") == expired_at
        assert (await store.get("configmaps.default.c1")).value == b'{"n":1}'
        items, list_rev = await store.list("")
        assert [e.key for e in items] == ["configmaps.default.c1"]
        assert list_rev >= expired_at[0]
        # a new list-then-watch has no trace of it, and the name can be used again
        fresh = Recorder()
        w3 = await store.watch("events.", fresh)
        await until(lambda: any(e.type is EventType.SYNCED for e in fresh.events), timeout=5,
                    message="the new watch's snapshot ended")
        await w3.stop()
        assert [e.type for e in fresh.events] == [EventType.SYNCED]
        again = await store.create("events.default.e1", b'{"n":2}', ttl=3600)
        assert (await store.get("events.default.e1")).revision == again
    finally:
        await w1.stop()
        await w2.stop()


async def test_an_update_sets_the_ttl_again_and_an_update_without_one_keeps_the_key(
        store: Any) -> None:
    seen = Recorder()
    w = await store.watch("events.", seen, since=await store.current_revision())
    try:
        renewed = await store.create("events.default.renewed", b"1", ttl=MIN_TTL)
        kept = await store.create("events.default.kept", b"1", ttl=MIN_TTL)
        renewed = await store.update("events.default.renewed", b"2", renewed, ttl=4)
        await store.update("events.default.kept", b"2", kept)
        await store.create("events.default.probe", b"1", ttl=MIN_TTL)  # written last
        await until(lambda: gone(store, "events.default.probe"), timeout=EXPIRY,
                    message="the 1 s probe expired")
        # the updates came before the probe: a TTL counted from the create would be over
        assert (await store.get("events.default.renewed")).value == b"2"
        assert (await store.get("events.default.kept")).value == b"2"
        await until(lambda: gone(store, "events.default.renewed"), timeout=EXPIRY + 4,
                    message="the renewed key expired 4 s after its update")
        assert (await store.get("events.default.kept")).value == b"2"
        # gone from the store; the watcher hears of it a moment later
        await until(lambda: seen.deletes("events.default.renewed"), timeout=5,
                    message="the watcher saw the renewed key's expiry")
        assert seen.deletes("events.default.kept") == []
        assert len(seen.deletes("events.default.renewed")) == 1
    finally:
        await w.stop()


async def test_a_deleted_key_with_a_ttl_is_deleted_once(store: Any) -> None:
    seen = Recorder()
    w = await store.watch("events.", seen, since=await store.current_revision())
    try:
        rev = await store.create("events.default.e1", b"1", ttl=MIN_TTL)
        await store.delete("events.default.e1", rev)
        await store.create("events.default.probe", b"1", ttl=MIN_TTL)
        await until(lambda: seen.deletes("events.default.probe"), timeout=EXPIRY,
                    message="the probe, written after the delete, expired")
        assert len(seen.deletes("events.default.e1")) == 1
        assert await gone(store, "events.default.e1")
    finally:
        await w.stop()


async def test_a_ttl_shorter_than_a_second_is_refused(store: Any) -> None:
    with pytest.raises(ValueError, match="at least 1s"):
        await store.create("events.default.e1", b"1", ttl=0.5)
    rev = await store.create("events.default.e1", b"1")
    with pytest.raises(ValueError, match="at least 1s"):
        await store.update("events.default.e1", b"2", rev, ttl=0)
    assert (await store.get("events.default.e1")).value == b"1"


def test_ttls_are_sent_as_go_durations() -> None:
    assert ttl_header(3600) == "3600s"
    assert ttl_header(1.5) == "1500ms"


@pytest.mark.integration
async def test_an_old_bucket_is_brought_to_ttls_and_a_shorter_ttl_lowers_the_marker_ttl(
        nats_url: str) -> None:
    """A bucket made before TTLs (no per-message TTL, no delete markers) is updated when
    the writer opens it; a write with a TTL below the marker TTL lowers it, as nats-server
    would otherwise raise that write's TTL to the marker TTL."""
    from nats.js import api

    nc = await connect(nats_url)
    js = nc.jetstream()
    bucket = "oldttl"
    try:
        await js.add_stream(api.StreamConfig(
            name=f"KV_{bucket}", subjects=[f"$KV.{bucket}.>"], allow_rollup_hdrs=True,
            deny_delete=True, max_msgs_per_subject=8, discard=api.DiscardPolicy.NEW))
        reader = await NatsStore.open(nc, bucket, create=False)  # a reader changes nothing
        cfg = (await js.stream_info(f"KV_{bucket}")).config
        assert not cfg.allow_msg_ttl and not cfg.subject_delete_marker_ttl
        store = await NatsStore.open(nc, bucket, marker_ttl=5)
        cfg = (await js.stream_info(f"KV_{bucket}")).config
        assert cfg.allow_msg_ttl and cfg.subject_delete_marker_ttl == 5
        seen = Recorder()
        w = await reader.watch("events.", seen)
        rev = await store.create("events.default.e1", b"1", ttl=2)
        assert (await js.stream_info(f"KV_{bucket}")).config.subject_delete_marker_ttl == 2
        msg = await js.get_msg(f"KV_{bucket}", seq=rev)
        assert msg.headers is not None and msg.headers["Nats-TTL"] == "2s"
        await until(lambda: seen.deletes("events.default.e1"), timeout=EXPIRY,
                    message="the 2 s key expired")
        await w.stop()
    finally:
        await js.delete_stream(f"KV_{bucket}")
        await nc.close()


@pytest.mark.integration
async def test_nats_expiry_latency_is_under_a_second(nats_store: NatsStore) -> None:
    """How late after its TTL a key's DELETE reaches a watcher (printed; bounded loosely)."""
    loop = asyncio.get_running_loop()
    arrived: dict[str, float] = {}

    def on_event(ev: WatchEvent) -> None:
        if ev.type is EventType.DELETE:
            arrived[ev.key] = loop.time()

    w = await nats_store.watch("events.", on_event, since=await nats_store.current_revision())
    try:
        written = {}
        for i in range(5):
            written[f"events.default.e{i}"] = loop.time()
            await nats_store.create(f"events.default.e{i}", b"1", ttl=2)
        await until(lambda: len(arrived) == 5, timeout=EXPIRY,
                    message="all five keys expired")
        late = [arrived[k] - t - 2 for k, t in written.items()]
        print(f"expiry latency after a 2 s TTL: min {min(late):.3f}s max {max(late):.3f}s")
        assert all(-0.05 < x < 1.0 for x in late), late
    finally:
        await w.stop()
