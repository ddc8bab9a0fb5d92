"""``--watch-cache-on-demand`` (ondemand.py, issue 17 deliverable 5): a cold resource is
listed from the store and nothing of it is kept; a watch warms it (a store list plus what
the cache heard meanwhile) and a list-then-watch from the list's revision misses nothing;
a resource nobody has watched for ``idle_s`` goes cold again and lets its memory go.  What
admission and authorization read whole can never be on demand."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest
from apiharness import Api, make_api, pod

from jetkube.services.apiserver.main import parse_args
from jetkube.services.apiserver.ondemand import ALWAYS_CACHED, parse_on_demand
from jetkube.services.apiserver.response import WatchResponse
from jetkube.services.apiserver.watchstream import watch_lines
from jetkube.services.machinery.store import Entry

PODS = "/api/v1/namespaces/default/pods"
ON_DEMAND = frozenset({"pods", "events"})


def counted_lists(api: Api) -> list[str]:
    """The prefixes the store is asked to list from now on."""
    asked: list[str] = []
    inner = api.store.list

    async def listing(prefix: str) -> tuple[list[Entry], int]:
        asked.append(prefix)
        return await inner(prefix)

    api.store.list = listing  # type: ignore[method-assign]
    return asked


async def events(api: Api, w: WatchResponse, n: int) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    lines = watch_lines(w, api.cache, bookmark_interval=30)
    async for chunk in lines:
        for line in chunk.splitlines():
            ev = orjson.loads(line)
            out.append((ev["type"], ev["object"]["metadata"]["name"]))
        if len(out) >= n:
            break
    await lines.aclose()
    return out


async def watch(api: Api, **query: str) -> WatchResponse:
    code, w = await api.call("GET", PODS, query={"watch": "true", **query})
    assert code == 200 and isinstance(w, WatchResponse), w
    return w


async def test_a_cold_resource_is_listed_from_the_store_and_nothing_of_it_is_kept() -> None:
    api = await make_api(on_demand=ON_DEMAND)
    asked = counted_lists(api)
    for name, app in (("a", "web"), ("b", "web"), ("c", "db")):
        await api.ok("POST", PODS, pod(name, {"app": app}))
    await api.ok("POST", "/api/v1/namespaces/default/configmaps", {
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm"}})
    await api.cache.wait_fresh()

    out = await api.ok("GET", PODS, query={"labelSelector": "app=web"})
    assert [i["metadata"]["name"] for i in out["items"]] == ["a", "b"]
    assert out["metadata"]["resourceVersion"] == str(await api.store.current_revision())
    page = await api.ok("GET", PODS, query={"limit": "2"})
    rest = await api.ok("GET", PODS, query={"continue": page["metadata"]["continue"]})
    assert [i["metadata"]["name"] for i in page["items"] + rest["items"]] == ["a", "b", "c"]
    assert asked == ["pods.default."] * 3  # each list read the store, that namespace only
    assert api.cache.is_cold("pods") and not api.cache.resource("pods").items
    assert "cm" in {c.name for c in api.cache.resource("configmaps").items.values()}

    # writes that start from the cache's copy (a bind, a status patch) read the store
    await api.ok("POST", f"{PODS}/a/binding", {
        "apiVersion": "v1", "kind": "Binding", "metadata": {"name": "a"},
        "target": {"apiVersion": "v1", "kind": "Node", "name": "n1"}})
    await api.ok("PATCH", f"{PODS}/a/status", {"status": {"phase": "Running"}},
                 content_type="application/merge-patch+json")
    got = await api.ok("GET", f"{PODS}/a")
    assert got["spec"]["nodeName"] == "n1" and got["status"]["phase"] == "Running"
    assert api.cache.is_cold("pods")


async def test_a_watch_warms_the_resource_and_list_then_watch_misses_nothing() -> None:
    api = await make_api(on_demand=ON_DEMAND)
    await api.ok("POST", PODS, pod("a"))
    listed = await api.ok("GET", PODS)  # cold: from the store
    rv = listed["metadata"]["resourceVersion"]
    await api.ok("POST", "/api/v1/namespaces/default/configmaps", {  # something else changes
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "other"}})
    await api.cache.wait_fresh()
    assert api.cache.rv > int(rv)

    w = await watch(api, resourceVersion=rv)  # not 410: pods did not change since rv
    assert not api.cache.is_cold("pods")
    assert set(api.cache.resource("pods").items) == {"pods.default.a"}
    task = asyncio.create_task(events(api, w, 2))
    await api.ok("POST", PODS, pod("b"))
    await api.ok("DELETE", f"{PODS}/a", query={"gracePeriodSeconds": "0"})
    assert await asyncio.wait_for(task, 5) == [("ADDED", "b"), ("DELETED", "a")]
    api.cache.remove_watcher(w.watcher)

    again = await api.ok("GET", PODS)  # warm: from the cache, at its revision
    assert [i["metadata"]["name"] for i in again["items"]] == ["b"]
    assert again["metadata"]["resourceVersion"] == str(api.cache.rv)


async def test_a_watch_from_before_the_last_change_while_cold_is_410_gone() -> None:
    api = await make_api(on_demand=ON_DEMAND)
    rv = (await api.ok("GET", PODS))["metadata"]["resourceVersion"]
    await api.ok("POST", PODS, pod("a"))  # a change the ring will never hold
    await api.cache.wait_fresh()
    code, st = await api.call("GET", PODS, query={"watch": "true", "resourceVersion": rv})
    assert code == 410 and st["reason"] == "Expired", st
    assert not api.cache.is_cold("pods")  # warm now: the relist's revision is watchable
    relisted = await api.ok("GET", PODS)
    w = await watch(api, resourceVersion=relisted["metadata"]["resourceVersion"])
    task = asyncio.create_task(events(api, w, 1))
    await api.ok("POST", PODS, pod("b"))
    assert await asyncio.wait_for(task, 5) == [("ADDED", "b")]


async def test_changes_during_the_warm_up_reach_the_cache_once() -> None:
    api = await make_api(on_demand=ON_DEMAND)
    for name in ("a", "b"):
        await api.ok("POST", PODS, pod(name))
    await api.cache.wait_fresh()
    inner = api.store.list

    async def list_then_write(prefix: str) -> tuple[list[Entry], int]:
        snapshot = await inner(prefix)  # the warm-up's read; then the world moves on
        await api.ok("POST", PODS, pod("late"))
        await api.ok("DELETE", f"{PODS}/a", query={"gracePeriodSeconds": "0"})
        await api.cache.wait_fresh()  # the cache's watch hears both while pods are warming
        assert [e.key for e in api.cache.demand.warming["pods"]] == ["pods.default.late"] + [
            "pods.default.a"] * (len(api.cache.demand.warming["pods"]) - 1)
        return snapshot

    api.store.list = list_then_write  # type: ignore[method-assign]
    w = await watch(api)
    api.store.list = inner  # type: ignore[method-assign]
    assert sorted(c.name for c in w.watcher.initial) == ["b", "late"]
    assert set(api.cache.resource("pods").items) == {"pods.default.b", "pods.default.late"}
    task = asyncio.create_task(events(api, w, 3))
    await api.ok("POST", PODS, pod("c"))
    assert sorted(await asyncio.wait_for(task, 5)) == [
        ("ADDED", "b"), ("ADDED", "c"), ("ADDED", "late")]


async def test_an_unwatched_resource_goes_cold_after_idle_s_and_lets_its_memory_go() -> None:
    api = await make_api(on_demand=ON_DEMAND)
    now = [1000.0]
    api.cache.demand.clock = lambda: now[0]
    released: list[bool] = []
    api.cache.release = lambda: released.append(True)
    await api.ok("POST", PODS, pod("a"))
    w = await watch(api)
    now[0] += 10 * api.cache.demand.idle_s
    assert api.cache.cool() == [] and not api.cache.is_cold("pods")  # watched: kept
    api.cache.remove_watcher(w.watcher)  # the watch ends: idle from now
    now[0] += api.cache.demand.idle_s - 1
    assert api.cache.cool() == [] and not released
    now[0] += 2
    assert api.cache.cool() == ["pods"] and released == [True]
    assert api.cache.is_cold("pods") and "pods" not in api.cache.resources
    await api.ok("POST", PODS, pod("b"))  # cold again: heard, not kept; lists still whole
    assert [i["metadata"]["name"] for i in (await api.ok("GET", PODS))["items"]] == ["a", "b"]
    assert "pods" not in api.cache.resources


def test_what_admission_reads_whole_is_never_on_demand() -> None:
    assert parse_on_demand(" pods, events ,") == {"pods", "events"}
    assert parse_args(["--watch-cache-on-demand", "pods,events"]).watch_cache_on_demand == {
        "pods", "events"}
    assert parse_args([]).watch_cache_on_demand == frozenset()
    for bad in ("namespaces", "pods,roles", "Pods", "pods/status"):
        with pytest.raises(ValueError):
            parse_on_demand(bad)
        with pytest.raises(SystemExit) as exit_:
            parse_args(["--watch-cache-on-demand", bad])
        assert exit_.value.code == 2
    assert {"namespaces", "serviceaccounts", "rolebindings", "resourcequotas"} <= ALWAYS_CACHED


async def test_a_pod_bound_token_and_the_node_graph_follow_cold_pods() -> None:
    api = await make_api(on_demand=ON_DEMAND)
    followed: list[tuple[str, Any]] = []
    api.cache.demand.follow("pods", lambda key, obj: followed.append(
        (key, None if obj is None else obj["metadata"]["name"])))
    await api.ok("POST", PODS, pod("a"))
    await api.ok("DELETE", f"{PODS}/a", query={"gracePeriodSeconds": "0"})
    await api.cache.wait_fresh()
    assert followed[-2:] == [("pods.default.a", "a"), ("pods.default.a", None)]
    assert api.cache.is_cold("pods")
