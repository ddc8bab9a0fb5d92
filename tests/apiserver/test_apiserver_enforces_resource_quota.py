"""ResourceQuota admission: counts and compute resources, with Kubernetes' messages.
The same with pods on demand (counted from the store)."""

from __future__ import annotations

import pytest
from apiharness import make_api, pod

ON_DEMAND = pytest.mark.parametrize(
    "on_demand", [frozenset(), frozenset({"pods"})], ids=["cached", "pods-on-demand"])
"""Each test twice: with pods in the watch cache, and with pods on demand (ondemand.py:
lists read the store, a watch warms them)."""

@ON_DEMAND
async def test_pod_count_and_cpu_quota_refuse_the_pod_that_would_exceed(on_demand: frozenset[str]) -> None:
    api = await make_api(on_demand=on_demand)
    await api.ok("POST", "/api/v1/namespaces/default/resourcequotas", {
        "apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "q"},
        "spec": {"hard": {"count/pods": "2", "requests.cpu": "1"}}})
    await api.cache.wait_fresh()  # admission reads the quota from the watch cache

    def p(name: str, cpu: str) -> dict[str, object]:
        body = pod(name)
        body["spec"]["containers"][0]["resources"] = {"requests": {"cpu": cpu}}  # type: ignore[index]
        return body

    await api.ok("POST", "/api/v1/namespaces/default/pods", p("a", "600m"))
    code, st = await api.call("POST", "/api/v1/namespaces/default/pods", p("b", "500m"))
    assert code == 403
    assert st["message"] == ('pods "b" is forbidden: exceeded quota: q, requested: '
                             "requests.cpu=500m, used: requests.cpu=600m, limited: requests.cpu=1")
    await api.ok("POST", "/api/v1/namespaces/default/pods", p("c", "400m"))
    code, st = await api.call("POST", "/api/v1/namespaces/default/pods", p("d", "0"))
    assert code == 403 and "count/pods" in st["message"]


@ON_DEMAND
async def test_quota_on_requests_needs_pods_to_declare_them(on_demand: frozenset[str]) -> None:
    api = await make_api(on_demand=on_demand)
    await api.ok("POST", "/api/v1/namespaces/default/resourcequotas", {
        "apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "q"},
        "spec": {"hard": {"requests.memory": "1Gi"}}})
    await api.cache.wait_fresh()
    code, st = await api.call("POST", "/api/v1/namespaces/default/pods", pod("x"))
    assert code == 403 and "must specify requests.memory" in st["message"]


async def test_each_pod_is_read_once_per_version_for_the_quotas_of_its_namespace(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The watch cache keeps pods as bytes: a create in a namespace with a pods quota
    decodes only the pods that changed since the last create, not every pod there."""
    from jetkube.services.apiserver import watchcache

    api = await make_api()
    await api.ok("POST", "/api/v1/namespaces/default/resourcequotas", {
        "apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "q"},
        "spec": {"hard": {"count/pods": "100", "requests.cpu": "10"}}})
    await api.cache.wait_fresh()
    decoded: list[str] = []
    real = watchcache.Cached.obj

    def counting(c: watchcache.Cached) -> dict[str, object]:
        decoded.append(c.name)
        return real.fget(c)  # type: ignore[attr-defined,no-any-return]

    monkeypatch.setattr(watchcache.Cached, "obj", property(counting))

    def p(name: str) -> dict[str, object]:
        body = pod(name)
        body["spec"]["containers"][0]["resources"] = {"requests": {"cpu": "100m"}}  # type: ignore[index]
        return body

    for i in range(6):
        await api.ok("POST", "/api/v1/namespaces/default/pods", p(f"p{i}"))
        await api.cache.wait_fresh()
    decoded.clear()
    await api.ok("POST", "/api/v1/namespaces/default/pods", p("last"))
    assert [n for n in decoded if n.startswith("p")] == ["p5"]  # the one new since
    code, st = await api.call("POST", "/api/v1/namespaces/default/pods", {
        **p("big"), "spec": {"containers": [{"name": "c", "image": "i", "resources": {
            "requests": {"cpu": "9500m"}}}]}})
    assert code == 403 and "used: requests.cpu=700m" in st["message"], st
