"""Lists: label selectors (equality and set-based) via the index, field selectors, paging.
The same with pods on demand (read from the store)."""

from __future__ import annotations

import pytest
from apiharness import make_api, pod

ON_DEMAND = pytest.mark.parametrize(
    "on_demand", [frozenset(), frozenset({"pods"})], ids=["cached", "pods-on-demand"])
"""Each test twice: with pods in the watch cache, and with pods on demand (ondemand.py:
lists read the store, a watch warms them)."""

PODS = "/api/v1/namespaces/default/pods"


async def _names(api, query: dict[str, str], path: str = PODS) -> list[str]:  # type: ignore[no-untyped-def]
    out = await api.ok("GET", path, query=query)
    return [i["metadata"]["name"] for i in out["items"]]


@ON_DEMAND
async def test_label_selectors_equality_and_set_based(on_demand: frozenset[str]) -> None:
    api = await make_api(on_demand=on_demand)
    await api.ok("POST", PODS, pod("a", {"app": "web", "tier": "front"}))
    await api.ok("POST", PODS, pod("b", {"app": "web", "tier": "back"}))
    await api.ok("POST", PODS, pod("c", {"app": "db"}))
    assert await _names(api, {"labelSelector": "app=web"}) == ["a", "b"]
    assert await _names(api, {"labelSelector": "app==web,tier!=back"}) == ["a"]
    assert await _names(api, {"labelSelector": "tier in (front,back)"}) == ["a", "b"]
    assert await _names(api, {"labelSelector": "app notin (web)"}) == ["c"]
    assert await _names(api, {"labelSelector": "!tier"}) == ["c"]
    assert await _names(api, {"labelSelector": "tier"}) == ["a", "b"]


@ON_DEMAND
async def test_bad_label_selector_is_400_naming_the_parameter(on_demand: frozenset[str]) -> None:
    api = await make_api(on_demand=on_demand)
    code, st = await api.call("GET", PODS, query={"labelSelector": "app in (web"})
    assert code == 400 and st["reason"] == "BadRequest"
    assert [c["field"] for c in st["details"]["causes"]] == ["labelSelector"]


@ON_DEMAND
async def test_field_selectors_on_pods_and_unsupported_field(on_demand: frozenset[str]) -> None:
    api = await make_api(on_demand=on_demand)
    await api.ok("POST", PODS, pod("a", nodeName="n1"))
    await api.ok("POST", PODS, pod("b"))
    assert await _names(api, {"fieldSelector": "spec.nodeName=n1"}) == ["a"]
    assert await _names(api, {"fieldSelector": "spec.nodeName="}) == ["b"]
    assert await _names(api, {"fieldSelector": "metadata.name=b"}) == ["b"]
    assert await _names(api, {"fieldSelector": "status.phase=Pending"}) == ["a", "b"]
    code, st = await api.call("GET", PODS, query={"fieldSelector": "spec.bogus=1"})
    assert code == 400 and "spec.bogus" in st["message"]
    assert [c["field"] for c in st["details"]["causes"]] == ["fieldSelector"]


@ON_DEMAND
async def test_list_across_namespaces_and_in_one(on_demand: frozenset[str]) -> None:
    api = await make_api(on_demand=on_demand)
    await api.ok("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                                "metadata": {"name": "other"}})
    await api.ok("POST", PODS, pod("a"))
    await api.ok("POST", "/api/v1/namespaces/other/pods", pod("b"))
    assert await _names(api, {}, "/api/v1/pods") == ["a", "b"]
    assert await _names(api, {}, "/api/v1/namespaces/other/pods") == ["b"]


@ON_DEMAND
async def test_limit_and_continue_page_through_everything_once(on_demand: frozenset[str]) -> None:
    api = await make_api(on_demand=on_demand)
    for i in range(7):
        await api.ok("POST", PODS, pod(f"p{i}"))
    seen: list[str] = []
    query = {"limit": "3"}
    while True:
        out = await api.ok("GET", PODS, query=query)
        seen += [i["metadata"]["name"] for i in out["items"]]
        cont = out["metadata"].get("continue")
        if not cont:
            break
        query = {"limit": "3", "continue": cont}
    assert seen == [f"p{i}" for i in range(7)]
