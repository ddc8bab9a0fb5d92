"""The store contract under races: writes committed while a list-then-watch's snapshot is
being delivered, run on the in-memory store and on real NATS KV alike.

The snapshot of a watch is not atomic on NATS: the consumer delivers it message by message,
and a write committed meanwhile arrives before SYNCED (it raises the consumer's pending
count).  The in-memory store yields to the event loop between snapshot entries, so the same
writes land in the middle of its snapshot too.  On NATS the snapshot is slowed down
(a consumer rate limit, :func:`deliver_snapshots_slowly`) so the writes a handler triggers
on the first entry are committed long before the last one is sent: the race is hit every
time, not by luck.

Before the fix, NATS dropped a tombstone that arrived before SYNCED (the informer then kept
a ghost of the deleted key forever), and the in-memory store delivered its whole snapshot
and SYNCED before any later write, so it could not show the race at all.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

import orjson
import pytest
from nats.js.manager import JetStreamManager
from polling import until

from jetkube.services.machinery.client import Informer
from jetkube.services.machinery.store import EventType, NatsStore, WatchEvent, WatchHandler

N = 6


def key(i: int | str) -> str:
    return f"pods.default.p{i}"


def pod(i: int | str, pad: str = "") -> bytes:
    # ~400 bytes: under the NATS rate limiter's burst, so each message waits its turn
    return orjson.dumps({"metadata": {"name": f"p{i}", "namespace": "default"},
                         "spec": {"pad": "x" * 300 + pad}})


async def deliver_snapshots_slowly(store: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """On NATS: every consumer of this store's stream is rate limited to ~10 messages a
    second (the limiter's burst is the stream's max message size, so that is lowered to
    1 KiB), so a snapshot of N entries takes ~N/10 s.  The in-memory store needs nothing."""
    if not isinstance(store, NatsStore):
        return
    info = await store.js.stream_info(store.stream)
    await store.js.update_stream(replace(info.config, max_msg_size=1024))
    real = JetStreamManager.add_consumer

    async def add_consumer(self: JetStreamManager, stream: str, config: Any = None,
                           timeout: float | None = None,  # noqa: ASYNC109 (nats-py's)
                           **params: Any) -> Any:
        if stream == store.stream:
            params["rate_limit_bps"] = 40_000  # 5 kB/s
        return await real(self, stream, config, timeout, **params)

    monkeypatch.setattr(JetStreamManager, "add_consumer", add_consumer)


def on_first_entry(write: Any) -> tuple[list[WatchEvent], list[asyncio.Task[Any]], Any]:
    """A handler recording events that starts ``write(first_key)`` (a coroutine) once, when
    the first snapshot entry arrives: the write is committed while the rest is delivered."""
    seen: list[WatchEvent] = []
    tasks: list[asyncio.Task[Any]] = []

    def wrap(handler: WatchHandler) -> WatchHandler:
        def on_event(ev: WatchEvent) -> None:
            seen.append(ev)
            handler(ev)
            if ev.type is EventType.PUT and not tasks:
                tasks.append(asyncio.ensure_future(write(ev.key)))
        return on_event

    return seen, tasks, wrap


def synced_at(seen: list[WatchEvent]) -> int:
    return next(i for i, e in enumerate(seen) if e.type is EventType.SYNCED)


def assert_in_revision_order(seen: list[WatchEvent]) -> None:
    revs = [e.revision for e in seen if e.type is not EventType.SYNCED]
    assert revs == sorted(set(revs)), f"not in revision order or repeated: {revs}"


def live_keys(events: list[WatchEvent]) -> set[str]:
    live: set[str] = set()
    for e in events:
        if e.type is EventType.PUT:
            live.add(e.key)
        elif e.type is EventType.DELETE:
            live.discard(e.key)
    return live


async def test_a_delete_committed_while_the_snapshot_is_delivered_arrives_before_synced(
        store: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    for i in range(N):
        await store.create(key(i), pod(i))
    await deliver_snapshots_slowly(store, monkeypatch)
    seen, tasks, wrap = on_first_entry(store.delete)
    w = await store.watch("pods.", wrap(lambda ev: None))
    try:
        await until(lambda: any(e.type is EventType.SYNCED for e in seen), timeout=10,
                    message="the snapshot ends")
        deleted_at = await tasks[0]
        s = synced_at(seen)
        assert [(e.type, e.key) for e in seen[:s]] == [
            *[(EventType.PUT, key(i)) for i in range(N)], (EventType.DELETE, key(0))]
        assert seen[s - 1].revision == deleted_at  # delivered, not dropped as a snapshot tombstone
        assert seen[s].revision == deleted_at  # SYNCED covers what came before it
        assert_in_revision_order(seen)
        assert live_keys(seen[:s]) == {key(i) for i in range(1, N)}
    finally:
        await w.stop()


async def test_informer_keeps_no_ghost_of_a_key_deleted_during_its_snapshot(
        store: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    for i in range(N):
        await store.create(key(i), pod(i))
    await deliver_snapshots_slowly(store, monkeypatch)
    seen, tasks, wrap = on_first_entry(store.delete)
    real_watch = store.watch

    async def watch(prefix: str, handler: WatchHandler, *, since: int | None = None) -> Any:
        return await real_watch(prefix, wrap(handler), since=since)

    store.watch = watch  # the informer's watch deletes its first entry during the snapshot
    added: list[str] = []
    inf = Informer(store, "pods.")
    inf.add_event_handler(on_add=lambda o: added.append(o["metadata"]["name"]))
    inf.start()
    try:
        await asyncio.wait_for(inf.wait_synced(), 10)
        deleted_at = await tasks[0]
        assert inf.get(key(0)) is None, "a ghost of the key deleted during the snapshot"
        assert sorted(inf.keys()) == [key(i) for i in range(1, N)]
        assert sorted(added) == [f"p{i}" for i in range(1, N)]
        assert seen[synced_at(seen)].revision >= deleted_at  # the race was hit
    finally:
        await inf.stop()


async def test_a_put_committed_while_the_snapshot_is_delivered_arrives_once(
        store: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    revs = [await store.create(key(i), pod(i)) for i in range(N)]
    await deliver_snapshots_slowly(store, monkeypatch)
    written: dict[str, int] = {}

    async def writes(_first: str) -> None:
        written["new"] = await store.create(key("new"), pod("new"))
        # the last entry, not delivered yet: its snapshot revision, then the update
        written["last"] = await store.update(key(N - 1), pod(N - 1, "v2"), revs[-1])

    seen, tasks, wrap = on_first_entry(writes)
    w = await store.watch("pods.", wrap(lambda ev: None))
    try:
        await until(lambda: any(e.type is EventType.SYNCED for e in seen), timeout=10,
                    message="the snapshot ends")
        await tasks[0]
        await store.create(key("marker"), pod("marker"))  # after it, nothing more of the race
        await until(lambda: any(e.key == key("marker") for e in seen), message="marker seen")
        s = synced_at(seen)
        before = [(e.key, e.revision) for e in seen[:s]]
        assert before == [*[(key(i), revs[i]) for i in range(N)],
                          (key("new"), written["new"]), (key(N - 1), written["last"])]
        assert seen[s].revision == written["last"]
        assert [(e.key, e.revision) for e in seen[s + 1:]] == [
            (key("marker"), seen[-1].revision)]  # nothing of the snapshot's race repeated
        assert_in_revision_order(seen)
    finally:
        await w.stop()


async def test_a_delete_between_the_start_revision_and_the_snapshot_is_delivered(
        store: Any) -> None:
    for i in range(N):
        await store.create(key(i), pod(i))
    real_current = store.current_revision
    deleted: list[int] = []

    async def current_then_delete() -> int:
        rev = await real_current()
        deleted.append(await store.delete(key(0)))  # newer than the watch's start revision
        return rev

    store.current_revision = current_then_delete
    seen: list[WatchEvent] = []
    w = await store.watch("pods.", seen.append)
    try:
        await until(lambda: any(e.type is EventType.SYNCED for e in seen), message="synced")
        s = synced_at(seen)
        assert [(e.type, e.key) for e in seen[:s]] == [
            *[(EventType.PUT, key(i)) for i in range(1, N)], (EventType.DELETE, key(0))]
        assert seen[s].revision == deleted[0]
        assert_in_revision_order(seen)
    finally:
        await w.stop()


@pytest.mark.integration
async def test_nats_snapshot_cut_short_by_a_heal_starts_over_and_brings_back_no_ghost(
        nats_store: NatsStore, monkeypatch: pytest.MonkeyPatch) -> None:
    """A snapshot consumer deleted mid-snapshot is recreated.  Resuming it from the last
    sequence seen (every revision and tombstone from there) would hand on the PUT of a key
    written and deleted before the watch started, and skip its tombstone: a ghost.  It
    starts the snapshot over instead, dropping what it had already delivered."""
    store = nats_store
    store.watch_heartbeat = 0.3
    for i in range(N):
        await store.create(key(i), pod(i))
    # written and deleted before the watch: in no snapshot.  Its sequences come after the
    # entries delivered before the consumer is deleted (the rate limit lets ~2 through)
    await store.create(key("ghost"), pod("ghost"))
    await store.delete(key("ghost"))
    await deliver_snapshots_slowly(store, monkeypatch)
    handle: list[Any] = []

    async def delete_consumer(_first: str) -> str:
        await until(lambda: handle, message="watch() returned")  # the first entry may be faster
        consumer = handle[0].consumer
        name: str = consumer.name
        await store.js.delete_consumer(store.stream, name)
        return name

    seen, tasks, wrap = on_first_entry(delete_consumer)
    handle.append(await store.watch("pods.", wrap(lambda ev: None)))
    consumer = handle[0].consumer
    try:
        await until(lambda: any(e.type is EventType.SYNCED for e in seen), timeout=20,
                    message="the snapshot ends")
        assert consumer.name != await tasks[0] and consumer.resets >= 1  # it did heal
        s = synced_at(seen)
        assert [(e.type, e.key) for e in seen[:s]] == [
            (EventType.PUT, key(i)) for i in range(N)]  # no ghost, nothing twice
        assert_in_revision_order(seen)
        rev = await store.create(key("after"), pod("after"))
        await until(lambda: seen[-1].revision == rev, message="live after the heal")
    finally:
        await handle[0].stop()
