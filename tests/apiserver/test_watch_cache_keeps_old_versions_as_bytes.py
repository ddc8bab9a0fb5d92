"""The watch cache keeps each current object decoded once, without its managedFields (a pod
or an event only until its event has been handed out: then as bytes, with its labels and
indexed fields), and every version in its event ring as bytes only (issue 17, memory);
what clients see is unchanged: served bytes and replayed events carry the whole object,
managedFields too."""

from __future__ import annotations

import asyncio

import orjson

from jetkube.services.apiserver.watchcache import BYTES_ONLY, CacheWatcher, WatchCache
from jetkube.services.machinery.store import MemoryStore

MANAGED = [{"manager": "kube-controller-manager", "operation": "Update", "apiVersion": "v1",
            "fieldsType": "FieldsV1", "fieldsV1": {"f:metadata": {"f:labels": {"f:app": {}}}}}]


def _pod(name: str, phase: str) -> bytes:
    return orjson.dumps({"apiVersion": "v1", "kind": "Pod", "metadata": {
        "name": name, "namespace": "default", "labels": {"app": "web"},
        "managedFields": MANAGED}, "status": {"phase": phase}})


async def _cache_with_history() -> tuple[MemoryStore, WatchCache, int]:
    store = MemoryStore()
    cache = WatchCache(store)
    await cache.start()
    start = cache.rv
    rev = await store.create("pods.default.a", _pod("a", "Pending"))
    rev = await store.update("pods.default.a", _pod("a", "Running"), rev)
    await store.delete("pods.default.a", rev)
    await store.create("pods.default.b", _pod("b", "Pending"))
    await cache.wait_fresh()
    return store, cache, start


async def test_the_current_object_is_decoded_without_managed_fields_and_served_with_them() -> None:
    _, cache, _ = await _cache_with_history()
    try:
        c = cache.resource("pods").items["pods.default.b"]
        assert "pods" in BYTES_ONLY and c._obj is None  # a pod: bytes only, once handed out
        assert "managedFields" not in c.obj["metadata"]  # what filters and admission read
        assert c.obj["metadata"]["labels"] == {"app": "web"}
        served = orjson.loads(c.raw)
        assert served["metadata"]["managedFields"] == MANAGED  # what a client gets
        assert c.served() == served
    finally:
        await cache.stop()


async def test_the_ring_keeps_bytes_shared_with_the_object_not_decoded_copies() -> None:
    _, cache, _ = await _cache_with_history()
    try:
        assert [e.type for e in cache.events] == ["ADDED", "MODIFIED", "DELETED", "ADDED"]
        for e in cache.events:
            for c in (e.new, e.old):
                assert c is None or c._obj is None  # no decoded object kept
        current = cache.resource("pods").items["pods.default.b"]
        assert cache.events[-1].new.raw is current.raw  # the same bytes, not a copy
        assert cache.events[-1].new is current  # a pod's version: one object, not two
        assert cache.events[1].old is not None
        assert cache.events[1].old.raw is cache.events[0].new.raw
    finally:
        await cache.stop()


async def test_a_watch_from_an_old_revision_replays_whole_objects() -> None:
    _, cache, start = await _cache_with_history()
    try:
        w = CacheWatcher("pods", "default", lambda c: c.labels.get("app") == "web")
        cache.add_watcher(w, start)  # replayed from the ring's bytes
        got = []
        while not w.queue.empty():
            item = w.queue.get_nowait()
            assert item is not None
            got.append((item[0], orjson.loads(item[1].raw)))
        assert [(t, o["metadata"]["name"], o["status"]["phase"]) for t, o in got] == [
            ("ADDED", "a", "Pending"), ("MODIFIED", "a", "Running"),
            ("DELETED", "a", "Running"), ("ADDED", "b", "Pending")]
        assert all(o["metadata"]["managedFields"] == MANAGED for _, o in got)  # DELETED too
        assert [int(o["metadata"]["resourceVersion"]) for _, o in got] == \
            [e.rv for e in cache.events]
    finally:
        await cache.stop()


async def test_a_live_watcher_still_sees_label_transitions() -> None:
    store = MemoryStore()
    cache = WatchCache(store)
    await cache.start()
    try:
        w = CacheWatcher("pods", None, lambda c: c.labels.get("app") == "web")
        cache.add_watcher(w, None)
        rev = await store.create("pods.default.a", _pod("a", "Pending"))
        moved = orjson.loads(_pod("a", "Pending"))
        moved["metadata"]["labels"] = {"app": "other"}
        await store.update("pods.default.a", orjson.dumps(moved), rev)
        first = await asyncio.wait_for(w.queue.get(), 5)
        second = await asyncio.wait_for(w.queue.get(), 5)
        assert first is not None and second is not None
        assert (first[0], second[0]) == ("ADDED", "DELETED")  # it stopped matching
    finally:
        await cache.stop()


async def test_listeners_get_a_pod_decoded_and_the_cache_then_keeps_its_bytes() -> None:
    store = MemoryStore()
    cache = WatchCache(store)
    await cache.start()
    heard = []
    cache.listeners.append(lambda ev: heard.append((ev.new._obj is not None, ev.new.obj)))
    try:
        await store.create("pods.default.a", _pod("a", "Pending"))
        await cache.wait_fresh()
        assert heard and heard[0][0]  # decoded once, for the listeners
        assert heard[0][1]["status"] == {"phase": "Pending"}
        c = cache.resource("pods").items["pods.default.a"]
        assert c._obj is None and c.obj["status"] == {"phase": "Pending"}
        await store.create("configmaps.default.c", orjson.dumps({
            "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}))
        await cache.wait_fresh()
        assert cache.resource("configmaps").items["configmaps.default.c"]._obj is not None
        assert cache.events[-1].new._obj is None  # its ring version: a light copy
    finally:
        await cache.stop()


async def test_indexes_follow_a_pod_kept_as_bytes_when_its_labels_and_node_change() -> None:
    store = MemoryStore()
    cache = WatchCache(store)
    await cache.start()
    try:
        rev = await store.create("pods.default.a", _pod("a", "Pending"))
        moved = orjson.loads(_pod("a", "Running"))
        moved["metadata"]["labels"] = {"app": "other"}
        moved["spec"] = {"nodeName": "n1"}
        await store.update("pods.default.a", orjson.dumps(moved), rev)
        await cache.wait_fresh()
        rc = cache.resource("pods")
        assert rc.labels[("app", "web")] == set()
        assert rc.labels[("app", "other")] == {"pods.default.a"}
        assert rc.fields["spec.nodeName"][""] == set()
        assert rc.fields["spec.nodeName"]["n1"] == {"pods.default.a"}
        assert [c.name for c in rc.candidates(None, (), (), [("spec.nodeName", "n1")])] == ["a"]
    finally:
        await cache.stop()
