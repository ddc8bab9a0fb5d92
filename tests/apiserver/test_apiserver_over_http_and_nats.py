"""Integration: a real API server on a real nats-server, over real HTTP and NATS."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import orjson
import pytest
from polling import until

from jetkube.services.machinery.apimachinery import apierrors
from jetkube.services.machinery.client import ApiClient
from jetkube.services.machinery.store import connect

pytestmark = pytest.mark.integration

POD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "labels": {"app": "web"}},
       "spec": {"containers": [{"name": "c", "image": "busybox:1.36"}]}}


def _client(api: dict[str, Any], token: str | None = "admin-token") -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.AsyncClient(base_url=str(api["url"]), headers=headers, timeout=10)


async def test_http_create_get_list_patch_delete(apiserver: dict[str, Any]) -> None:
    async with _client(apiserver) as c:
        r = await c.post("/api/v1/namespaces/default/pods", json=POD)
        assert r.status_code == 201, r.text
        rv = r.json()["metadata"]["resourceVersion"]
        r = await c.get("/api/v1/namespaces/default/pods/web")
        assert r.json()["metadata"]["resourceVersion"] == rv
        r = await c.get("/api/v1/namespaces/default/pods", params={"labelSelector": "app=web"})
        assert [i["metadata"]["name"] for i in r.json()["items"]] == ["web"]
        r = await c.patch("/api/v1/namespaces/default/pods/web",
                          content=orjson.dumps({"metadata": {"labels": {"x": "y"}}}),
                          headers={"Content-Type": "application/merge-patch+json"})
        assert r.status_code == 200 and r.json()["metadata"]["labels"]["x"] == "y"
        stale = {**POD, "metadata": {**POD["metadata"], "resourceVersion": rv}}
        r = await c.put("/api/v1/namespaces/default/pods/web", json=stale)
        assert r.status_code == 409 and r.json()["reason"] == "Conflict"
        r = await c.delete("/api/v1/namespaces/default/pods/web")
        assert r.status_code == 200
        r = await c.get("/api/v1/namespaces/default/pods/web")
        assert r.status_code == 404 and r.json()["kind"] == "Status"


async def test_http_watch_streams_changes_from_a_lists_revision(apiserver: dict[str, Any]) -> None:
    async with _client(apiserver) as c:
        rv = (await c.get("/api/v1/namespaces/default/configmaps")).json()["metadata"][
            "resourceVersion"]
        seen: list[tuple[str, str]] = []

        async def watch() -> None:
            async with c.stream("GET", "/api/v1/namespaces/default/configmaps",
                                params={"watch": "true", "resourceVersion": rv}) as resp:
                async for line in resp.aiter_lines():
                    if line:
                        ev = orjson.loads(line)
                        seen.append((ev["type"], ev["object"]["metadata"]["name"]))
                        if len(seen) == 3:
                            return

        task = asyncio.create_task(watch())
        cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}, "data": {}}
        await c.post("/api/v1/namespaces/default/configmaps", json=cm)
        await c.patch("/api/v1/namespaces/default/configmaps/a",
                      content=b'{"data":{"k":"v"}}',
                      headers={"Content-Type": "application/merge-patch+json"})
        await c.delete("/api/v1/namespaces/default/configmaps/a")
        await asyncio.wait_for(task, 10)
        assert seen == [("ADDED", "a"), ("MODIFIED", "a"), ("DELETED", "a")]


async def test_authentication_and_rbac(apiserver: dict[str, Any]) -> None:
    async with _client(apiserver, token=None) as c:
        r = await c.get("/api/v1/namespaces/default/pods")
        assert r.status_code == 401 and r.json()["reason"] == "Unauthorized"
    async with _client(apiserver, token="wrong") as c:
        assert (await c.get("/api/v1/pods")).status_code == 401
    async with _client(apiserver, token="bob-token") as bob:
        r = await bob.get("/api/v1/namespaces/default/pods")
        assert r.status_code == 403
        assert r.json()["message"] == ('pods is forbidden: User "bob" cannot list resource "pods" '
                                       'in API group "" in the namespace "default"')
    async with _client(apiserver) as admin:
        r = await admin.post("/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings",
                             json={"apiVersion": "rbac.authorization.k8s.io/v1",
                                   "kind": "RoleBinding", "metadata": {"name": "devs-view"},
                                   "roleRef": {"apiGroup": "rbac.authorization.k8s.io",
                                               "kind": "ClusterRole", "name": "view"},
                                   "subjects": [{"kind": "Group", "name": "dev",
                                                 "apiGroup": "rbac.authorization.k8s.io"}]})
        assert r.status_code == 201, r.text
    async with _client(apiserver, token="bob-token") as bob:
        # the binding reaches this server's cache within milliseconds
        await until(lambda: bob.get("/api/v1/namespaces/default/pods"), interval=0.02,
                    accept=lambda r: r.status_code == 200, message="bob allowed to list pods")
        r = await bob.post("/api/v1/namespaces/default/pods", json=POD)
        assert r.status_code == 403 and 'cannot create resource "pods"' in r.json()["message"]


async def test_nats_face_serves_the_same_handlers(apiserver: dict[str, Any]) -> None:
    nc = await connect(str(apiserver["nats_url"]), identity="admin")
    proxy_nc = await connect(str(apiserver["nats_url"]), identity="kube-proxy")
    try:
        api = ApiClient(nc, "admin")
        out = await api.create("configmaps", "default", {
            "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "over-nats"},
            "data": {"a": "1"}})
        assert out["metadata"]["resourceVersion"]
        got = await api.get("configmaps", "default", "over-nats")
        assert got["data"] == {"a": "1"}
        with pytest.raises(apierrors.ApiError) as err:
            await api.create("configmaps", "default", {
                "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "over-nats"}})
        assert err.value.code == 409 and err.value.reason == "AlreadyExists"
        with pytest.raises(apierrors.ApiError) as err:
            await ApiClient(proxy_nc, "kube-proxy").create("configmaps", "default", {
                "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}})
        assert err.value.code == 403 and "system:kube-proxy" in err.value.message
        listed = await api.list("configmaps", "default")
        assert "over-nats" in [i["metadata"]["name"] for i in listed["items"]]
    finally:
        await proxy_nc.close()
        await nc.close()


async def test_pod_events_are_published_to_their_node_only(apiserver: dict[str, Any]) -> None:
    from jetkube.services.machinery.store import NodePodStream

    nc = await connect(str(apiserver["nats_url"]))
    try:
        stream = NodePodStream(nc)
        got: dict[str, list[tuple[str, str]]] = {"n1": [], "n2": []}
        published: list[dict[str, Any]] = []

        def heard(node: str, data: bytes) -> None:
            event = orjson.loads(data)
            got[node].append((event["type"], event["object"]["metadata"]["name"]))
            published.append(event["object"])

        pos = await stream.position("n1")
        subs = [await stream.subscribe(n, pos, lambda d, n=n: heard(n, d))  # type: ignore[misc]
                for n in ("n1", "n2")]
        async with _client(apiserver) as c:
            await c.post("/api/v1/namespaces/default/pods",
                         json={**POD, "metadata": {"name": "on-n1"}, "spec": {
                             **POD["spec"], "nodeName": "n1"}})
            await c.post("/api/v1/namespaces/default/pods", json={**POD, "metadata": {
                "name": "unbound"}})
            await c.post("/api/v1/namespaces/default/pods/unbound/binding", json={
                "apiVersion": "v1", "kind": "Binding", "metadata": {"name": "unbound"},
                "target": {"kind": "Node", "name": "n2"}})
        await until(lambda: got["n1"] and got["n2"], interval=0.02, message="an event on each node's subject")
        assert got["n1"] == [("ADDED", "on-n1")]
        assert got["n2"] == [("MODIFIED", "unbound")]
        async with _client(apiserver) as c:  # stored with managedFields; published without
            stored = (await c.get("/api/v1/namespaces/default/pods/on-n1")).json()
        assert stored["metadata"]["managedFields"]
        assert published and all("managedFields" not in o["metadata"] for o in published)
        assert published[0]["metadata"]["uid"] == stored["metadata"]["uid"]
        for s in subs:
            await s.unsubscribe()
    finally:
        await nc.close()
