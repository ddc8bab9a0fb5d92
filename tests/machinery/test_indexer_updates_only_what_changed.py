"""The informer's indexes: an update moves a key only in the indexes whose values changed,
an index computed from the key is computed once per key, and ``index_items`` reads an
index without sorting or copying it."""

from __future__ import annotations

from typing import Any

import orjson
from polling import until

from jetkube.services.machinery.client import Indexer, Informer, by_field, by_owner_uid
from jetkube.services.machinery.store import MemoryStore


def pod(node: str = "", owner: str = "", **spec: Any) -> dict[str, Any]:
    md: dict[str, Any] = {"name": "p", "namespace": "default"}
    if owner:
        md["ownerReferences"] = [{"uid": owner, "controller": True}]
    return {"metadata": md, "spec": {"nodeName": node, **spec} if node else spec}


def test_update_moves_a_key_between_values_and_remove_drops_it() -> None:
    idx: Indexer[dict[str, Any]] = Indexer()
    idx.add("node", by_field("spec.nodeName"))
    idx.update("k", pod("n1"))
    idx.update_known("k", pod("n2"))
    assert idx.keys("node", "n1") == set() and idx.keys("node", "n2") == {"k"}
    idx.update_known("k", pod())
    assert idx.values("node") == []
    idx.update("k", pod("n3"))
    idx.remove("k")
    assert idx.keys("node", "n3") == set()


def test_an_index_of_the_key_is_computed_once_per_key() -> None:
    calls: list[str] = []

    def of_key(key: str) -> tuple[str, ...]:
        calls.append(key)
        return (key.split(".")[1],)

    idx: Indexer[dict[str, Any]] = Indexer()
    idx.add("namespace", of_key, by_key=True)
    idx.add("node", by_field("spec.nodeName"))
    idx.update("pods.default.a", pod("n1"))
    idx.update("pods.default.a", pod("n2"))
    idx.update_known("pods.default.a", pod("n3"))
    assert calls == ["pods.default.a"]
    assert idx.keys("namespace", "default") == {"pods.default.a"}
    assert idx.keys("node", "n3") == {"pods.default.a"}
    idx.remove("pods.default.a")
    idx.update("pods.default.a", pod("n1"))  # a key seen again after removal: computed again
    assert len(calls) == 2


def test_a_failing_index_function_leaves_the_object_out_of_that_index_only() -> None:
    def broken(obj: dict[str, Any]) -> tuple[str, ...]:
        raise RuntimeError("boom")

    idx: Indexer[dict[str, Any]] = Indexer()
    idx.add("broken", broken)
    idx.add("node", by_field("spec.nodeName"))
    idx.update("k", pod("n1"))
    assert idx.values("broken") == [] and idx.keys("node", "n1") == {"k"}


def test_field_and_owner_indexes_read_every_path_shape() -> None:
    deep = by_field("spec.template.name")
    assert list(deep({"spec": {"template": {"name": "t"}}})) == ["t"]
    assert list(deep({"spec": {"template": "not a map"}})) == []
    two = by_field("spec.nodeName")
    assert list(two({"spec": {"nodeName": "n1"}})) == ["n1"]
    assert list(two({"spec": "not a map"})) == [] and list(two({})) == []
    assert list(by_field("spec.priority")({"spec": {"priority": 7}})) == ["7"]
    owners = by_owner_uid(controller_only=True)
    assert list(owners(pod(owner="u1"))) == ["u1"] and list(owners(pod())) == []


def test_peek_reads_the_keys_of_a_value_without_a_copy() -> None:
    idx: Indexer[dict[str, Any]] = Indexer()
    idx.add("node", by_field("spec.nodeName"))
    idx.update("a", pod("n1"))
    idx.update("b", pod("n1"))
    assert set(idx.peek("node", "n1")) == {"a", "b"}
    assert set(idx.peek("node", "nowhere")) == set()


async def test_index_items_pairs_each_key_with_its_cached_object() -> None:
    store = MemoryStore()
    inf = Informer(store, "pods.")
    inf.add_indexer("node", by_field("spec.nodeName"))
    inf.start()
    try:
        await inf.wait_synced()
        for name, node in (("a", "n1"), ("b", "n1"), ("c", "n2")):
            body = {"metadata": {"name": name, "namespace": "default"},
                    "spec": {"nodeName": node}}
            await store.create(f"pods.default.{name}", orjson.dumps(body))
        await until(lambda: len(inf) == 3)
        pairs = sorted(inf.index_items("node", "n1"))  # no order promised: sort to compare
        assert [k for k, _ in pairs] == inf.index_keys("node", "n1") == ["pods.default.a",
                                                                         "pods.default.b"]
        assert all(inf.get(k) is obj for k, obj in pairs)
        assert inf.index_items("node", "n9") == []
    finally:
        await inf.stop()
