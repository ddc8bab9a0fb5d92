"""Informers on the in-memory store: list-then-watch, indexes, resync, and healing gaps."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import orjson

from jetkube.services.machinery.client import (
    Informer,
    SharedInformerFactory,
    WorkQueue,
    by_field,
    by_owner_uid,
    enqueue_on_change,
)
from jetkube.services.machinery.runtime import FakeClock, Settings
from jetkube.services.machinery.store import MemoryStore, WatchHandler


def pod(name: str, ns: str = "default", node: str = "", owner: str = "", **extra: Any) -> bytes:
    md: dict[str, Any] = {"name": name, "namespace": ns}
    if owner:
        md["ownerReferences"] = [{"uid": owner, "controller": True}]
    return orjson.dumps({"metadata": md, "spec": {"nodeName": node} if node else {}, **extra})


@dataclass
class Recorder:
    events: list[tuple[str, str]] = field(default_factory=list)

    def attach(self, inf: Informer[dict[str, Any]]) -> None:
        inf.add_event_handler(
            lambda o: self.events.append(("add", o["metadata"]["name"])),
            lambda old, new: self.events.append(("update", new["metadata"]["name"])),
            lambda o: self.events.append(("delete", o["metadata"]["name"])),
        )

    def take(self) -> list[tuple[str, str]]:
        out, self.events = sorted(self.events), []
        return out


async def settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


async def test_lists_then_watches_with_resource_versions_and_namespace_index() -> None:
    store = MemoryStore()
    r1 = await store.create("pods.default.a", pod("a"))
    await store.create("pods.other.b", pod("b", ns="other"))
    await store.create("services.default.s", b"{}")
    inf = Informer(store, "pods.")
    rec = Recorder()
    rec.attach(inf)
    assert not inf.has_synced()
    inf.start()
    await asyncio.wait_for(inf.wait_synced(), 1)
    assert rec.take() == [("add", "a"), ("add", "b")]
    a = inf.get("pods.default.a")
    assert a is not None and a["metadata"]["resourceVersion"] == str(r1)
    assert [o["metadata"]["name"] for o in inf.list("other")] == ["b"]
    assert inf.get_by_name("other", "b") is not None
    assert inf.key_of(a) == "pods.default.a"

    r3 = await store.update("pods.default.a", pod("a", node="n1"), r1)
    await store.delete("pods.other.b")
    await store.create("pods.default.c", pod("c"))
    await settle()
    assert rec.take() == [("add", "c"), ("delete", "b"), ("update", "a")]
    assert inf.get("pods.default.a")["metadata"]["resourceVersion"] == str(r3)  # type: ignore[index]
    assert inf.list("other") == []
    assert inf.last_revision == await store.current_revision()
    await inf.stop()


async def test_custom_indexes_follow_changes() -> None:
    store = MemoryStore()
    inf = Informer(store, "pods.")
    inf.add_indexer("node", by_field("spec.nodeName"))
    await store.create("pods.default.a", pod("a", node="n1", owner="rs-1"))
    await store.create("pods.default.b", pod("b", node="n1"))
    inf.start()
    await inf.wait_synced()
    inf.add_indexer("owner", by_owner_uid(controller_only=True))  # added late: built from cache
    assert inf.index_keys("node", "n1") == ["pods.default.a", "pods.default.b"]
    assert inf.index_keys("owner", "rs-1") == ["pods.default.a"]
    e = await store.get("pods.default.b")
    await store.update("pods.default.b", pod("b", node="n2"), e.revision)
    await store.delete("pods.default.a")
    await settle()
    assert inf.index_keys("node", "n1") == []
    assert [o["metadata"]["name"] for o in inf.by_index("node", "n2")] == ["b"]
    assert inf.index_keys("owner", "rs-1") == []
    await inf.stop()


class KillableStore(MemoryStore):
    """A MemoryStore whose watches can die, as a watch does when its connection drops."""

    def __init__(self, history: int = 100_000, overlap: int = 0) -> None:
        super().__init__(history=history)
        self.handles: list[_Killable] = []
        self.watch_calls: list[int | None] = []
        self.overlap = overlap  # resume this many revisions early (an at-least-once source)

    async def watch(self, prefix: str, handler: WatchHandler, *,  # type: ignore[override]
                    since: int | None = None) -> _Killable:
        self.watch_calls.append(since)
        if since is not None:
            since = max(0, since - self.overlap)
        inner = await super().watch(prefix, handler, since=since)
        h = _Killable(inner)
        self.handles.append(h)
        return h

    async def kill_watches(self, *, tell: bool) -> None:
        for h in self.handles:
            await h.inner.stop()
            if tell:
                h.closed.set()


@dataclass
class _Killable:
    inner: Any
    closed: asyncio.Event = field(default_factory=asyncio.Event)

    async def stop(self) -> None:
        await self.inner.stop()

    async def wait_closed(self) -> None:
        await self.closed.wait()


async def seed(store: MemoryStore) -> None:
    for n in "abc":
        await store.create(f"pods.default.{n}", pod(n))


async def change_during_gap(store: MemoryStore) -> None:
    e = await store.get("pods.default.a")
    await store.update("pods.default.a", pod("a", node="n1"), e.revision)
    await store.delete("pods.default.b")
    await store.create("pods.default.d", pod("d"))


async def test_relist_after_a_dead_watch_emits_exactly_the_missed_changes() -> None:
    store = KillableStore()
    await seed(store)
    inf = Informer(store, "pods.")
    rec = Recorder()
    rec.attach(inf)
    inf.start()
    await inf.wait_synced()
    rec.take()
    await store.kill_watches(tell=False)  # dies silently
    await change_during_gap(store)
    await settle()
    assert rec.take() == []  # nothing seen: the gap
    await inf.relist()
    assert rec.take() == [("add", "d"), ("delete", "b"), ("update", "a")]
    assert sorted(inf.keys()) == ["pods.default.a", "pods.default.c", "pods.default.d"]
    await store.create("pods.default.e", pod("e"))  # the new watch is live
    await settle()
    assert rec.take() == [("add", "e")]
    await inf.stop()


async def test_watch_that_reports_closing_is_resumed_from_the_last_revision() -> None:
    store = KillableStore()
    await seed(store)
    inf = Informer(store, "pods.")
    rec = Recorder()
    rec.attach(inf)
    inf.start()
    await inf.wait_synced()
    rec.take()
    seen_rev = inf.last_revision
    await store.kill_watches(tell=False)
    await change_during_gap(store)
    for h in store.handles:
        h.closed.set()  # now the handle says it died: the informer resumes by itself
    await settle()
    assert store.watch_calls == [None, seen_rev]
    assert rec.take() == [("add", "d"), ("delete", "b"), ("update", "a")]
    await inf.stop()


async def test_resume_after_history_is_gone_falls_back_to_relist() -> None:
    store = KillableStore(history=3)
    await seed(store)
    inf = Informer(store, "pods.")
    rec = Recorder()
    rec.attach(inf)
    inf.start()
    await inf.wait_synced()
    rec.take()
    await store.kill_watches(tell=False)
    await change_during_gap(store)
    for n in range(5):  # push the gap out of the store's history
        await store.create(f"services.default.s{n}", b"{}")
    await inf.resume()
    assert store.watch_calls[-1] is None  # since=R was Gone, so a full list-then-watch
    assert rec.take() == [("add", "d"), ("delete", "b"), ("update", "a")]
    await inf.stop()


async def test_resume_overlapping_seen_events_repeats_nothing() -> None:
    store = KillableStore(overlap=100)
    await seed(store)
    inf = Informer(store, "pods.")
    rec = Recorder()
    rec.attach(inf)
    inf.start()
    await inf.wait_synced()
    rec.take()
    await change_during_gap(store)  # seen live
    await settle()
    assert len(rec.take()) == 3
    await inf.resume()  # the store replays from revision 0: every create, update, delete again
    await settle()
    assert rec.take() == []
    await store.create("pods.default.z", pod("z"))
    await settle()
    assert rec.take() == [("add", "z")]
    await inf.stop()


async def test_resync_redelivers_updates_on_the_clock() -> None:
    clock = FakeClock()
    store = MemoryStore()
    await seed(store)
    inf = Informer(store, "pods.", clock=clock, resync_seconds=600)
    rec = Recorder()
    rec.attach(inf)
    inf.start()
    await inf.wait_synced()
    rec.take()
    await clock.advance(599)
    assert rec.take() == []
    await clock.advance(1)
    assert rec.take() == [("update", "a"), ("update", "b"), ("update", "c")]
    await inf.stop()


async def test_late_handler_gets_adds_for_the_cache_and_decode_gives_typed_objects() -> None:
    @dataclass
    class Meta:
        name: str
        namespace: str | None

    @dataclass
    class Pod:
        metadata: Meta
        rv: int

    def decode(d: dict[str, Any]) -> Pod:
        md = d["metadata"]
        return Pod(Meta(md["name"], md.get("namespace")), int(md["resourceVersion"]))

    store = MemoryStore()
    await seed(store)
    inf = Informer(store, "pods.default.", decode=decode)
    inf.start()
    await inf.wait_synced()
    names: list[str] = []
    inf.add_event_handler(on_add=lambda p: names.append(p.metadata.name))
    assert sorted(names) == ["a", "b", "c"]
    p = inf.get("pods.default.a")
    assert p is not None and p.rv >= 1 and inf.key_of(p) == "pods.default.a"
    await inf.stop()


async def test_factory_shares_one_informer_per_resource_and_handlers_enqueue_keys() -> None:
    store = MemoryStore()
    await seed(store)
    factory = SharedInformerFactory(store, settings=Settings.from_env({}))
    pods = factory.informer("pods")
    assert factory.informer("pods") is pods
    assert factory.informer("pods", "default") is not pods
    q: WorkQueue[str] = WorkQueue(FakeClock())
    enqueue_on_change(pods, q)
    factory.start()
    assert await factory.wait_for_cache_sync(1)
    got = sorted([await q.get() for _ in range(3)])
    assert got == ["pods.default.a", "pods.default.b", "pods.default.c"]
    late = factory.informer("services")  # started at once
    await asyncio.wait_for(late.wait_synced(), 1)
    await factory.stop()


async def test_cached_objects_leave_managed_fields_behind() -> None:
    """As client-go's TransformStripManagedFields in kube-scheduler and the controller-manager:
    the bookkeeping of server-side apply is most of a pod's bytes and no component reads it."""
    store = MemoryStore()
    entry = {"manager": "kubectl", "operation": "Update", "apiVersion": "v1",
             "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {"f:nodeName": {}}}}
    await store.create("pods.default.a", orjson.dumps(
        {"metadata": {"name": "a", "namespace": "default", "managedFields": [entry]},
         "spec": {"nodeName": "n1"}}))
    assert b"managedFields" in (await store.get("pods.default.a")).value  # stored with them
    inf: Informer[dict[str, Any]] = Informer(store, "pods.")
    inf.start()
    await asyncio.wait_for(inf.wait_synced(), 5)
    cached = inf.get_by_name("default", "a")
    assert cached is not None and "managedFields" not in cached["metadata"]
    assert cached["spec"] == {"nodeName": "n1"}
    await inf.stop()
