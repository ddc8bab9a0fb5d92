"""The watch cache serves an object as the store's bytes with its revision put into
``metadata`` (objects.served_bytes), not encoded a second time; where that cannot be sure
it encodes the object as before.  A pod this server writes is cached from the object it
wrote, not decoded from the bytes again (WatchCache.expect), when its event brings those
bytes.  A write that keeps a cached object's labels and indexed
fields leaves the indexes as they are, pointing at the new version.  The C library that
returns freed memory is looked up once per process."""

from __future__ import annotations

import asyncio
import ctypes.util
from collections.abc import AsyncIterator

import orjson
import pytest
from apiharness import make_api

from jetkube.services.apiserver import natsface
from jetkube.services.apiserver._cacheforms import WRITTEN_MAX
from jetkube.services.apiserver.objects import kept_bytes, served_bytes, stored_bytes
from jetkube.services.apiserver.params import NO_PARAMS, Params, parse
from jetkube.services.apiserver.watchcache import CacheWatcher, WatchCache
from jetkube.services.machinery.runtime import _gc, release_free_memory
from jetkube.services.machinery.store import MemoryStore

Running = tuple[MemoryStore, WatchCache]


@pytest.fixture
async def running() -> AsyncIterator[Running]:
    """A store and a started watch cache of it, stopped after the test."""
    store = MemoryStore()
    cache = WatchCache(store)
    await cache.start()
    yield store, cache
    await cache.stop()


POD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a", "namespace": "default",
                                                       "labels": {"app": "web"}},
       "spec": {"containers": [{"name": "c", "image": "i"}],
                "template": {"metadata": {"name": "not-this-one"}}},
       "status": {"phase": "Pending"}}


def test_the_revision_goes_first_into_the_top_level_metadata() -> None:
    value = orjson.dumps(POD)
    out = served_bytes(value, orjson.loads(value), 42)
    assert out is not None
    assert out.startswith(b'{"apiVersion":"v1","kind":"Pod","metadata":{"resourceVersion":"42",')
    want = orjson.loads(value)
    want["metadata"]["resourceVersion"] = "42"
    assert orjson.loads(out) == want  # the nested metadata is untouched


def test_kept_bytes_are_the_encoding_in_a_block_of_their_own() -> None:
    out = kept_bytes(POD)
    assert out == orjson.dumps(POD) and type(out) is bytes
    assert out is not kept_bytes(POD)


async def test_a_deleted_pod_is_served_with_the_revision_of_its_delete(running: Running) -> None:
    store, cache = running
    watcher = CacheWatcher("pods", None, lambda c: True)
    cache.watchers.setdefault("pods", set()).add(watcher)
    rev = await store.create("pods.default.a", orjson.dumps(POD))
    gone = await store.delete("pods.default.a", rev)
    await cache.wait_fresh()
    events = [watcher.queue.get_nowait() for _ in range(2)]
    assert [t for t, _ in events] == ["ADDED", "DELETED"]
    assert orjson.loads(events[1][1].raw)["metadata"]["resourceVersion"] == str(gone)
    assert orjson.loads(events[1][1].raw)["status"] == POD["status"]


def test_empty_metadata_gets_the_revision_alone() -> None:
    value = b'{"kind":"Pod","metadata":{}}'
    assert served_bytes(value, orjson.loads(value), 7) == \
        b'{"kind":"Pod","metadata":{"resourceVersion":"7"}}'


@pytest.mark.parametrize("value", [
    # a field before metadata that is no string: its bytes could hold the pattern
    b'{"x":{"metadata":{}},"metadata":{"name":"a"}}',
    b'{"x":["\\"metadata\\":{"],"metadata":{"name":"a"}}',
    b'{"apiVersion":"v1","metadata":{"name":"a","resourceVersion":"3"}}',  # one already
    b'{"apiVersion":"v1","kind":"Pod"}',  # no metadata
    b'{"apiVersion":"v1","metadata":null}',
    b'{"apiVersion": "v1", "metadata": {"name": "a"}}',  # not written compactly
])
def test_bytes_it_cannot_be_sure_of_are_left_to_the_encoder(value: bytes) -> None:
    assert served_bytes(value, orjson.loads(value), 9) is None


def test_an_escaped_pattern_inside_a_string_before_metadata_is_not_taken() -> None:
    value = orjson.dumps({"kind": 'x"metadata":{', "metadata": {"name": "a"}})
    out = served_bytes(value, orjson.loads(value), 5)
    assert out is not None
    assert orjson.loads(out) == {"kind": 'x"metadata":{',
                                 "metadata": {"resourceVersion": "5", "name": "a"}}


async def test_the_cache_serves_each_version_with_its_revision_and_falls_back_when_unsure(
        running: Running) -> None:
    store, cache = running
    rev = await store.create("pods.default.a", orjson.dumps(POD))
    odd = b'{"metadata": {"name": "b", "namespace": "default"}, "kind": "Pod"}'
    rev_b = await store.create("pods.default.b", odd)
    await cache.wait_fresh()
    items = cache.resource("pods").items
    a, b = items["pods.default.a"], items["pods.default.b"]
    assert a.raw.startswith(b'{"apiVersion":"v1","kind":"Pod","metadata":{"resourceVersion"')
    assert orjson.loads(a.raw)["metadata"]["resourceVersion"] == str(rev)
    assert orjson.loads(b.raw) == {"metadata": {"name": "b", "namespace": "default",
                                                "resourceVersion": str(rev_b)},
                                   "kind": "Pod"}  # encoded again


async def test_a_status_write_keeps_the_indexes_and_they_lead_to_the_new_version(running: Running) -> None:
    store, cache = running
    rev = await store.create("pods.default.a", orjson.dumps(POD))
    await cache.wait_fresh()
    rc = cache.resource("pods")
    first = rc.items["pods.default.a"]
    now_running = {**POD, "status": {"phase": "Running"}}
    await store.update("pods.default.a", orjson.dumps(now_running), rev)
    await cache.wait_fresh()
    now = rc.items["pods.default.a"]
    assert now is not first and now.obj["status"]["phase"] == "Running"
    assert rc.labels[("app", "web")] == {"pods.default.a"}
    assert rc.label_keys["app"] == {"pods.default.a"}
    assert rc.fields["spec.nodeName"][""] == {"pods.default.a"}
    assert rc.by_ns["default"]["pods.default.a"] is now
    found = list(rc.candidates("default", [("app", "web")], (), ()))
    assert found == [now]


def test_the_c_library_is_looked_up_once(monkeypatch: pytest.MonkeyPatch) -> None:
    lookups: list[str] = []
    real = ctypes.util.find_library

    def counted(name: str) -> str | None:
        lookups.append(name)
        return real(name)

    monkeypatch.setattr(ctypes.util, "find_library", counted)
    _gc._libc.cache_clear()
    try:
        for _ in range(3):
            release_free_memory()
        assert lookups == ["c"]
    finally:
        _gc._libc.cache_clear()


def test_a_request_without_a_query_shares_the_default_parameters() -> None:
    assert parse({}) is NO_PARAMS and NO_PARAMS == Params()
    assert parse({"limit": "5"}).limit == 5 and NO_PARAMS.limit is None


def _counting_opens(cache: WatchCache) -> list[str]:
    """The keys whose stored bytes the cache decodes (each decode opens the value)."""
    opened: list[str] = []
    real = cache.forms.open

    def counted(resource: str, key: str, obj: dict[str, object]) -> dict[str, object]:
        opened.append(key)
        return real(resource, key, obj)

    cache.forms.open = counted  # type: ignore[method-assign]
    return opened


async def test_a_pod_this_server_writes_is_cached_from_the_object_it_wrote() -> None:
    api = await make_api()
    await api.cache.wait_fresh()
    opened = _counting_opens(api.cache)
    created = await api.ok("POST", "/api/v1/namespaces/default/pods", {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "mine", "labels": {"a": "b"}},
        "spec": {"containers": [{"name": "c", "image": "i"}]}})
    # and one the server did not write (straight into the store): decoded
    await api.store.create("pods.default.theirs", orjson.dumps(POD))
    await api.cache.wait_fresh()
    pods = [k for k in opened if k.startswith("pods.")]
    assert pods == ["pods.default.theirs"]  # (shows the counter counts)
    c = api.cache.resource("pods").items["pods.default.mine"]
    stored = (await api.store.get("pods.default.mine")).value
    assert orjson.loads(c.raw) == {**orjson.loads(stored), "metadata": {
        **orjson.loads(stored)["metadata"], "resourceVersion": created["metadata"]["resourceVersion"]}}
    assert orjson.loads(c.raw) == created
    assert c.labels == {"a": "b"} and "managedFields" not in c.obj["metadata"]
    assert api.cache.forms._written == {}  # taken by its event


async def test_an_expectation_is_used_only_for_the_very_bytes_it_names(running: Running) -> None:
    store, cache = running
    opened = _counting_opens(cache)
    wrong = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a", "labels": {"x": "y"}}}
    cache.expect("pods", "pods.default.a", orjson.dumps(wrong), wrong)
    await store.create("pods.default.a", orjson.dumps(POD))  # other bytes came
    await cache.wait_fresh()
    assert opened == ["pods.default.a"]
    assert cache.resource("pods").items["pods.default.a"].labels == {"app": "web"}
    assert cache.forms._written == {}
    cache.expect("configmaps", "configmaps.default.c", b"{}", {})  # not one of the many
    assert cache.forms._written == {}


def test_expectations_are_bounded_the_oldest_going_first() -> None:
    cache = WatchCache(MemoryStore())
    for i in range(WRITTEN_MAX + 5):
        cache.expect("pods", f"pods.default.p{i}", b"{}", {"metadata": {}})
    assert len(cache.forms._written) == WRITTEN_MAX
    assert "pods.default.p4" not in cache.forms._written and "pods.default.p5" in cache.forms._written


async def test_a_cold_on_demand_resource_keeps_no_expectations() -> None:
    """Its events are not cached, so nothing would take an expectation of its writes."""
    api = await make_api(on_demand=frozenset({"pods"}))
    assert "pods" in api.cache.demand.cold
    await api.ok("POST", "/api/v1/namespaces/default/pods", {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "cold"},
        "spec": {"containers": [{"name": "c", "image": "i"}]}})
    await api.ok("POST", "/api/v1/namespaces/default/events", {
        "apiVersion": "v1", "kind": "Event", "metadata": {"name": "e"},
        "involvedObject": {"kind": "Pod", "name": "cold", "namespace": "default"},
        "reason": "Seen", "message": "m"})
    await api.cache.wait_fresh()
    assert api.cache.forms._written == {}  # the warm event's was taken by its event


class _SlowAck(MemoryStore):
    """A store whose writer hears back only after the write's event was delivered, as a
    busy API server hears its acknowledgement after the watch event it came with."""

    async def create(self, key: str, value: bytes, *, ttl: float | None = None) -> int:
        rev = await super().create(key, value, ttl=ttl)
        for _ in range(5):
            await asyncio.sleep(0)
        return rev


async def test_a_create_answered_after_its_event_takes_the_caches_bytes() -> None:
    api = await make_api(store=_SlowAck())
    await api.cache.wait_fresh()
    body, headers = await natsface.handle(
        api.front, "jetkube.api.admin.create.core.v1.pods", {"Jetkube-Namespace": "default"},
        orjson.dumps({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "late"},
                      "spec": {"containers": [{"name": "c", "image": "i"}]}}))
    assert headers["Jetkube-Code"] == "201"
    c = api.cache.resource("pods").items["pods.default.late"]
    assert body is c.raw  # one copy of the bytes, made once
    assert api.cache.bytes_at("pods", "pods.default.late", c.rv) is c.raw
    assert api.cache.bytes_at("pods", "pods.default.late", c.rv + 1) is None
    assert api.cache.bytes_at("pods", "pods.default.other", c.rv) is None
    assert api.cache.bytes_at("nosuch", "nosuch.default.late", c.rv) is None


async def test_an_own_write_whose_bytes_cannot_take_the_revision_is_encoded(
        running: Running) -> None:
    """A field before ``metadata`` that is no string: the revision cannot be put into the
    stored bytes with certainty, so the object is encoded with it, managedFields and all."""
    store, cache = running
    obj = {"spec": {"containers": []}, "apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": "a", "namespace": "default",
                        "managedFields": [{"manager": "m", "operation": "Update"}]}}
    value = orjson.dumps(obj)
    cache.expect("pods", "pods.default.a", value, obj)
    rev = await store.create("pods.default.a", value)
    await cache.wait_fresh()
    c = cache.resource("pods").items["pods.default.a"]
    assert orjson.loads(c.raw) == {**obj, "metadata": {**obj["metadata"],
                                                       "resourceVersion": str(rev)}}
    assert c.obj["metadata"] == {"name": "a", "namespace": "default",
                                 "resourceVersion": str(rev)}
    assert "resourceVersion" not in obj["metadata"]  # the writer's object is its own


async def test_an_own_pod_write_is_indexed_and_followed_from_the_object_written(
        running: Running) -> None:
    """No copy of it is made: its labels and indexed fields are read from it, the
    followers get it as written (managedFields, and the resourceVersion its writer put
    in after the acknowledgement came first, are nothing they read), and once handed out
    the cache keeps the bytes, served with the revision put in once."""
    store, cache = running
    seen: list[object] = []
    cache.demand.follow("pods", lambda key, obj: seen.append(obj))
    obj = {"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": "a", "namespace": "default", "labels": {"app": "web"},
                        "managedFields": [{"manager": "m", "operation": "Update"}]},
           "spec": {"nodeName": "node-1", "containers": []}}
    value = stored_bytes(obj)
    cache.expect("pods", "pods.default.a", value, obj)
    rev = await store.create("pods.default.a", value)
    obj["metadata"]["resourceVersion"] = str(rev)  # its writer answered first
    await cache.wait_fresh()
    assert seen and seen[-1] is obj
    rc = cache.resource("pods")
    c = rc.items["pods.default.a"]
    assert c.labels == {"app": "web"} and c.indexed == ("node-1",)
    assert rc.fields["spec.nodeName"]["node-1"] == {"pods.default.a"}
    assert rc.labels[("app", "web")] == {"pods.default.a"}
    assert c.raw.count(b'"resourceVersion"') == 1
    assert orjson.loads(c.raw) == obj  # (the writer's object holds its revision now)
    assert c.obj == {**obj, "metadata": {k: v for k, v in obj["metadata"].items()
                                         if k != "managedFields"}}  # from the bytes
    assert c.obj is not c.obj  # decoded when asked: the written object is not kept
