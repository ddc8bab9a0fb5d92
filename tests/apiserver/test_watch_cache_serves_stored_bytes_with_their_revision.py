"""The watch cache serves an object as the store's bytes with its revision put into
``metadata`` (objects.served_bytes), not encoded a second time; where that cannot be sure
it encodes the object as before.  A write that keeps a cached object's labels and indexed
fields leaves the indexes as they are, pointing at the new version.  The C library that
returns freed memory is looked up once per process."""

from __future__ import annotations

import ctypes.util

import orjson
import pytest

from jetkube.services.apiserver import watchcache
from jetkube.services.apiserver.objects import served_bytes
from jetkube.services.apiserver.params import NO_PARAMS, Params, parse
from jetkube.services.apiserver.watchcache import WatchCache
from jetkube.services.machinery.store import MemoryStore

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
        ) -> None:
    store = MemoryStore()
    cache = WatchCache(store)
    await cache.start()
    try:
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
    finally:
        await cache.stop()


async def test_a_status_write_keeps_the_indexes_and_they_lead_to_the_new_version() -> None:
    store = MemoryStore()
    cache = WatchCache(store)
    await cache.start()
    try:
        rev = await store.create("pods.default.a", orjson.dumps(POD))
        await cache.wait_fresh()
        rc = cache.resource("pods")
        first = rc.items["pods.default.a"]
        running = {**POD, "status": {"phase": "Running"}}
        await store.update("pods.default.a", orjson.dumps(running), rev)
        await cache.wait_fresh()
        now = rc.items["pods.default.a"]
        assert now is not first and now.obj["status"]["phase"] == "Running"
        assert rc.labels[("app", "web")] == {"pods.default.a"}
        assert rc.label_keys["app"] == {"pods.default.a"}
        assert rc.fields["spec.nodeName"][""] == {"pods.default.a"}
        assert rc.by_ns["default"]["pods.default.a"] is now
        found = list(rc.candidates("default", [("app", "web")], (), ()))
        assert found == [now]
    finally:
        await cache.stop()


def test_the_c_library_is_looked_up_once(monkeypatch: pytest.MonkeyPatch) -> None:
    lookups: list[str] = []
    real = ctypes.util.find_library

    def counted(name: str) -> str | None:
        lookups.append(name)
        return real(name)

    monkeypatch.setattr(ctypes.util, "find_library", counted)
    watchcache._libc.cache_clear()
    try:
        for _ in range(3):
            watchcache.release_free_memory()
        assert lookups == ["c"]
    finally:
        watchcache._libc.cache_clear()


def test_a_request_without_a_query_shares_the_default_parameters() -> None:
    assert parse({}) is NO_PARAMS and NO_PARAMS == Params()
    assert parse({"limit": "5"}).limit == 5 and NO_PARAMS.limit is None
