"""ResourceQuota admission: counts and compute resources, with Kubernetes' messages."""

from __future__ import annotations

from apiharness import make_api, pod


async def test_pod_count_and_cpu_quota_refuse_the_pod_that_would_exceed() -> None:
    api = await make_api()
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


async def test_quota_on_requests_needs_pods_to_declare_them() -> None:
    api = await make_api()
    await api.ok("POST", "/api/v1/namespaces/default/resourcequotas", {
        "apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "q"},
        "spec": {"hard": {"requests.memory": "1Gi"}}})
    await api.cache.wait_fresh()
    code, st = await api.call("POST", "/api/v1/namespaces/default/pods", pod("x"))
    assert code == 403 and "must specify requests.memory" in st["message"]
