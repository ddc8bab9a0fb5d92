"""A terminating namespace is emptied (every namespaced kind), waits while a pod bound
to a node terminates gracefully (conditions say what remains), then is finalized and
removed by the API server."""

from __future__ import annotations

from apiharness import pod
from ctrlharness import Env, make_env

from jetkube.schemas.objects import Obj
from jetkube.services.controllers.context import ControllerContext, ControllerManagerOptions
from jetkube.services.controllers.namespace import NamespaceController

NS = "/api/v1/namespaces/shop"


async def populate(env: Env) -> None:
    await env.api.ok("POST", "/api/v1/namespaces", {
        "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}})
    await env.api.ok("POST", "/api/v1/namespaces", {
        "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "other"}})
    for ns in ("shop", "other"):
        await env.api.ok("POST", f"/api/v1/namespaces/{ns}/configmaps", {
            "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"}})
    await env.api.ok("POST", f"{NS}/services", {
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
        "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}})
    await env.api.ok("POST", f"{NS}/secrets", {
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "token"}})
    await env.api.ok("POST", "/apis/apps/v1/namespaces/shop/deployments", {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}})
    await env.api.ok("POST", f"{NS}/pods", pod("unbound", {"app": "web"}))
    await env.api.ok("POST", f"{NS}/pods", pod("bound", {"app": "web"}))
    await env.api.ok("POST", f"{NS}/pods/bound/binding", {
        "apiVersion": "v1", "kind": "Binding", "metadata": {"name": "bound"},
        "target": {"apiVersion": "v1", "kind": "Node", "name": "node-1"}})


async def exists(env: Env, path: str) -> bool:
    code, _ = await env.api.call("GET", path)
    return code == 200


async def content(env: Env, ns: str) -> list[str]:
    out = []
    for path in (f"/api/v1/namespaces/{ns}/configmaps", f"/api/v1/namespaces/{ns}/services",
                 f"/api/v1/namespaces/{ns}/secrets", f"/api/v1/namespaces/{ns}/pods",
                 f"/apis/apps/v1/namespaces/{ns}/deployments"):
        out += [o["kind"] + "/" + o["metadata"]["name"] for o in await env.objects(path)]
    return sorted(out)


def condition(ns: Obj, type_: str) -> Obj:
    return next(c for c in ns["status"]["conditions"] if c["type"] == type_)


async def test_namespace_is_emptied_waits_for_terminating_pods_then_goes() -> None:
    env = await make_env()
    try:
        await populate(env)
        ctl = NamespaceController(ControllerContext(env.rt, ControllerManagerOptions()))
        await env.start(ctl.controller)
        out = await env.api.ok("DELETE", NS)
        assert out["status"]["phase"] == "Terminating"
        for _ in range(100):
            if await content(env, "shop") == ["Pod/bound"]:
                break
            await env.settle()
        assert await content(env, "shop") == ["Pod/bound"]
        bound = await env.api.ok("GET", f"{NS}/pods/bound")
        assert bound["metadata"]["deletionTimestamp"]  # terminating gracefully on its node
        await env.until(lambda: bool((ctl.namespaces.get_by_name(None, "shop") or {}).get(
            "status", {}).get("conditions")))
        ns = await env.api.ok("GET", NS)
        assert condition(ns, "NamespaceContentRemaining")["status"] == "True"
        assert "pods has 1 resource instances" in condition(ns, "NamespaceContentRemaining")[
            "message"]
        assert condition(ns, "NamespaceDeletionContentFailure")["status"] == "False"
        await env.clock.advance(5)
        await env.settle()
        assert await exists(env, NS)  # still waiting for the pod

        # the node agent finishes the pod's graceful deletion
        await env.api.ok("DELETE", f"{NS}/pods/bound", {"gracePeriodSeconds": 0})
        for _ in range(100):
            if not await exists(env, NS):
                break
            await env.settle()
        assert not await exists(env, NS)
        assert await content(env, "other") == ["ConfigMap/settings"]
        assert await exists(env, "/api/v1/namespaces/other")
    finally:
        await env.close()


async def test_a_namespace_not_being_deleted_is_left_alone() -> None:
    env = await make_env()
    try:
        await populate(env)
        ctl = NamespaceController(ControllerContext(env.rt, ControllerManagerOptions()))
        await env.start(ctl.controller)
        await env.settle()
        assert await content(env, "shop") == ["ConfigMap/settings", "Deployment/web",
                                              "Pod/bound", "Pod/unbound", "Secret/token",
                                              "Service/web"]
        assert ("delete", "configmaps") not in env.client.calls
    finally:
        await env.close()
