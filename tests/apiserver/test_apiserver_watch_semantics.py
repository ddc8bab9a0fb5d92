"""Watch semantics of the watch cache: resume, 410 Gone, selector transitions, bookmarks.
The same with pods on demand (held only while watched)."""

from __future__ import annotations

import asyncio

import pytest
from apiharness import make_api, pod

from jetkube.services.apiserver.response import WatchResponse
from jetkube.services.apiserver.watchstream import watch_lines

ON_DEMAND = pytest.mark.parametrize(
    "on_demand", [frozenset(), frozenset({"pods"})], ids=["cached", "pods-on-demand"])
"""Each test twice: with pods in the watch cache, and with pods on demand (ondemand.py:
lists read the store, a watch warms them)."""

PODS = "/api/v1/namespaces/default/pods"


async def _events(api, w: WatchResponse, n: int) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    import orjson

    out: list[tuple[str, str]] = []
    lines = watch_lines(w, api.cache, bookmark_interval=0.05)
    async for chunk in lines:
        for line in chunk.splitlines():
            ev = orjson.loads(line)
            out.append((ev["type"], ev["object"]["metadata"].get("name", "")))
        if len(out) >= n:
            break
    await lines.aclose()
    return out


@ON_DEMAND
async def test_watch_older_than_the_ring_is_410_gone(on_demand: frozenset[str]) -> None:
    api = await make_api(on_demand=on_demand, watch_history=5)
    first = await api.ok("POST", PODS, pod("p0"))
    for i in range(1, 10):
        await api.ok("POST", PODS, pod(f"p{i}"))
    await api.cache.wait_fresh()
    code, st = await api.call("GET", PODS, query={
        "watch": "true", "resourceVersion": first["metadata"]["resourceVersion"]})
    assert code == 410 and st["reason"] == "Expired" and "too old" in st["message"]


@ON_DEMAND
async def test_watch_without_resource_version_starts_with_current_state(on_demand: frozenset[str]) -> None:
    api = await make_api(on_demand=on_demand)
    await api.ok("POST", PODS, pod("a"))
    await api.cache.wait_fresh()
    _, w = await api.call("GET", PODS, query={"watch": "true"})
    task = asyncio.create_task(_events(api, w, 2))
    await api.ok("POST", PODS, pod("b"))
    assert await asyncio.wait_for(task, 5) == [("ADDED", "a"), ("ADDED", "b")]


@ON_DEMAND
async def test_label_selector_watch_sees_objects_enter_and_leave(on_demand: frozenset[str]) -> None:
    api = await make_api(on_demand=on_demand)
    rv = (await api.ok("GET", PODS))["metadata"]["resourceVersion"]
    _, w = await api.call("GET", PODS, query={"watch": "true", "resourceVersion": rv,
                                              "labelSelector": "app=web"})
    task = asyncio.create_task(_events(api, w, 3))
    await api.ok("POST", PODS, pod("x", {"app": "db"}))
    await api.ok("PATCH", f"{PODS}/x", {"metadata": {"labels": {"app": "web"}}},
                 content_type="application/merge-patch+json")
    await api.ok("PATCH", f"{PODS}/x", {"metadata": {"labels": {"app": "db"}}},
                 content_type="application/merge-patch+json")
    await api.ok("POST", PODS, pod("y", {"app": "web"}))
    assert await asyncio.wait_for(task, 5) == [("ADDED", "x"), ("DELETED", "x"), ("ADDED", "y")]


@ON_DEMAND
async def test_named_watch_follows_one_object(on_demand: frozenset[str]) -> None:
    api = await make_api(on_demand=on_demand)
    await api.ok("POST", PODS, pod("a"))
    rv = (await api.ok("POST", PODS, pod("b")))["metadata"]["resourceVersion"]
    _, w = await api.call("GET", f"{PODS}/a", query={"watch": "true", "resourceVersion": rv})
    task = asyncio.create_task(_events(api, w, 1))
    await api.ok("PATCH", f"{PODS}/b", {"metadata": {"labels": {"x": "1"}}},
                 content_type="application/merge-patch+json")
    await api.ok("PATCH", f"{PODS}/a", {"metadata": {"labels": {"x": "1"}}},
                 content_type="application/merge-patch+json")
    assert await asyncio.wait_for(task, 5) == [("MODIFIED", "a")]


@ON_DEMAND
async def test_bookmarks_carry_the_current_revision(on_demand: frozenset[str]) -> None:
    api = await make_api(on_demand=on_demand)
    rv = (await api.ok("GET", PODS))["metadata"]["resourceVersion"]
    _, w = await api.call("GET", PODS, query={"watch": "true", "resourceVersion": rv,
                                              "allowWatchBookmarks": "true"})
    events = await asyncio.wait_for(_events(api, w, 1), 5)
    assert events == [("BOOKMARK", "")]


@ON_DEMAND
async def test_watch_ends_at_timeout_seconds(on_demand: frozenset[str]) -> None:
    api = await make_api(on_demand=on_demand)
    _, w = await api.call("GET", PODS, query={"watch": "true", "timeoutSeconds": "1"})
    w.timeout = 0.05
    assert await asyncio.wait_for(_events(api, w, 1), 5) == []
