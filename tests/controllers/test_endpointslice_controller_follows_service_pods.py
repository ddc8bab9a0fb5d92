"""The EndpointSlice controller makes slices for a Service with a selector: endpoints
with ready/serving/terminating conditions, nodeName, the node's zone, the pod as targetRef,
named target ports resolved; Kubernetes' labels, generateName and owner; at most 100
endpoints a slice; an empty placeholder slice when no pod matches; no writes once
settled; nothing for a selector-less service."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from ctrlharness import Env, make_env
from polling import until

from jetkube.schemas.objects import Obj
from jetkube.services.controllers.context import ControllerContext, ControllerManagerOptions
from jetkube.services.controllers.endpointslice import EndpointSliceController

NS = "/api/v1/namespaces/default"
SLICES = "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices"
SERVICE_NAME = "kubernetes.io/service-name"


def service(name: str = "web", selector: dict[str, str] | None = None, **spec: object) -> Obj:
    body: Obj = {"apiVersion": "v1", "kind": "Service",
                 "metadata": {"name": name, "labels": {"tier": "fe"}},
                 "spec": {"ports": [{"name": "http", "port": 80, "targetPort": "http"}],
                          **spec}}
    if selector is not None:
        body["spec"]["selector"] = selector
    return body


async def add_pod(env: Env, name: str, ip: str, *, ready: bool = True, node: str = "node-1",
                  labels: dict[str, str] | None = None) -> Obj:
    await env.api.ok("POST", f"{NS}/pods", {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "labels": labels or {"app": "web"}},
        "spec": {"containers": [{"name": "c", "image": "nginx",
                                 "ports": [{"name": "http", "containerPort": 8080}]}]}})
    await env.api.ok("POST", f"{NS}/pods/{name}/binding", {
        "apiVersion": "v1", "kind": "Binding", "metadata": {"name": name},
        "target": {"apiVersion": "v1", "kind": "Node", "name": node}})
    cur = await env.api.ok("GET", f"{NS}/pods/{name}")
    cur["status"] = {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}], "conditions": [
        {"type": "Ready", "status": "True" if ready else "False"}]}
    out: Obj = await env.api.ok("PUT", f"{NS}/pods/{name}/status", cur)
    return out


@asynccontextmanager
async def running() -> AsyncIterator[Env]:
    env = await make_env()
    try:
        await env.api.ok("POST", "/api/v1/nodes", {
            "apiVersion": "v1", "kind": "Node",
            "metadata": {"name": "node-1", "labels": {"topology.kubernetes.io/zone": "z1"}}})
        ctl = EndpointSliceController(ControllerContext(env.rt, ControllerManagerOptions()))
        await env.start(ctl.controller)
        yield env
    finally:
        await env.close()


async def slices_of(env: Env, svc: str = "web") -> list[Obj]:
    return await env.objects(SLICES, labelSelector=f"{SERVICE_NAME}={svc}")


async def until_slices(env: Env, accept: object, svc: str = "web") -> list[Obj]:
    out: list[Obj] = await until(lambda: slices_of(env, svc), accept=accept, timeout=5.0,
                                 interval=0.005, message="slices not as expected")
    return out


def addresses(slices: list[Obj]) -> list[str]:
    return sorted(a for s in slices for e in s.get("endpoints") or () for a in e["addresses"])


async def test_a_slice_lists_the_pods_with_conditions_node_zone_and_ports() -> None:
    async with running() as env:
        svc = await env.api.ok("POST", f"{NS}/services", service(selector={"app": "web"}))
        ready = await add_pod(env, "a", "10.244.0.5")
        await add_pod(env, "b", "10.244.0.6", ready=False)
        await add_pod(env, "other", "10.244.0.7", labels={"app": "other"})
        [s] = await until_slices(env, lambda ss: addresses(ss) == ["10.244.0.5", "10.244.0.6"])
        md = s["metadata"]
        assert md["generateName"] == "web-" and md["name"].startswith("web-")
        assert md["labels"] == {"tier": "fe", SERVICE_NAME: "web",
                                "endpointslice.kubernetes.io/managed-by":
                                    "endpointslice-controller.k8s.io"}
        assert md["ownerReferences"] == [{"apiVersion": "v1", "kind": "Service", "name": "web",
                                          "uid": svc["metadata"]["uid"], "controller": True,
                                          "blockOwnerDeletion": True}]
        assert s["addressType"] == "IPv4"
        assert s["ports"] == [{"name": "http", "protocol": "TCP", "port": 8080}]
        by_ip = {e["addresses"][0]: e for e in s["endpoints"]}
        assert by_ip["10.244.0.5"] == {
            "addresses": ["10.244.0.5"],
            "conditions": {"ready": True, "serving": True, "terminating": False},
            "nodeName": "node-1", "zone": "z1",
            "targetRef": {"kind": "Pod", "namespace": "default", "name": "a",
                          "uid": ready["metadata"]["uid"]}}
        assert by_ip["10.244.0.6"]["conditions"] == {"ready": False, "serving": False,
                                                     "terminating": False}


async def test_a_terminating_pod_stays_marked_terminating() -> None:
    async with running() as env:
        await env.api.ok("POST", f"{NS}/services", service(selector={"app": "web"}))
        await add_pod(env, "a", "10.244.0.5")
        await until_slices(env, lambda ss: addresses(ss) == ["10.244.0.5"])
        await env.api.ok("DELETE", f"{NS}/pods/a")  # bound: graceful, the pod stays a while

        def terminating(ss: list[Obj]) -> bool:
            eps = [e for s in ss for e in s.get("endpoints") or ()]
            return len(eps) == 1 and eps[0]["conditions"] == {
                "ready": False, "serving": True, "terminating": True}

        await until_slices(env, terminating)


async def test_a_service_without_pods_gets_one_empty_placeholder_slice() -> None:
    async with running() as env:
        await env.api.ok("POST", f"{NS}/services", service(selector={"app": "none"}))
        [s] = await until_slices(env, lambda ss: len(ss) == 1)
        assert s["endpoints"] == [] and s["ports"] == []
        await add_pod(env, "a", "10.244.0.5", labels={"app": "none"})
        [s] = await until_slices(env, lambda ss: addresses(ss) == ["10.244.0.5"])
        assert s["ports"] == [{"name": "http", "protocol": "TCP", "port": 8080}]


async def test_no_slice_holds_more_than_100_endpoints() -> None:
    async with running() as env:
        for i in range(230):
            await add_pod(env, f"p{i}", f"10.244.{i // 200}.{i % 200 + 1}")
        await env.api.ok("POST", f"{NS}/services", service(selector={"app": "web"}))
        ss = await until_slices(env, lambda ss: len(addresses(ss)) == 230)
        assert sorted(len(s["endpoints"]) for s in ss) == [30, 100, 100]


async def test_settled_slices_are_not_rewritten() -> None:
    async with running() as env:
        await env.api.ok("POST", f"{NS}/services", service(selector={"app": "web"}))
        await add_pod(env, "a", "10.244.0.5")
        [s] = await until_slices(env, lambda ss: addresses(ss) == ["10.244.0.5"])
        await env.settle()
        writes = [c for c in env.client.calls if c[1] == "endpointslices"]
        await env.api.ok("PATCH", f"{NS}/services/web", {"metadata": {"annotations": {"x": "y"}}},
                         content_type="application/merge-patch+json")
        await env.settle()
        assert [c for c in env.client.calls if c[1] == "endpointslices"] == writes
        [again] = await slices_of(env)
        assert again["metadata"]["resourceVersion"] == s["metadata"]["resourceVersion"]


async def test_a_service_without_selector_gets_no_slices_from_it() -> None:
    async with running() as env:
        await env.api.ok("POST", f"{NS}/services", service())
        await add_pod(env, "a", "10.244.0.5")
        await env.settle()
        assert await slices_of(env) == []


async def test_slice_labels_follow_the_service_labels() -> None:
    async with running() as env:
        await env.api.ok("POST", f"{NS}/services", service(selector={"app": "web"}))
        await add_pod(env, "a", "10.244.0.5")
        await until_slices(env, lambda ss: addresses(ss) == ["10.244.0.5"])
        await env.api.ok("PATCH", f"{NS}/services/web",
                         {"metadata": {"labels": {"tier": None, "team": "x"}}},
                         content_type="application/merge-patch+json")
        [s] = await until_slices(env, lambda ss: "team" in ss[0]["metadata"]["labels"])
        assert "tier" not in s["metadata"]["labels"]
        assert addresses([s]) == ["10.244.0.5"]


async def test_a_deleted_slice_is_made_again() -> None:
    async with running() as env:
        await env.api.ok("POST", f"{NS}/services", service(selector={"app": "web"}))
        await add_pod(env, "a", "10.244.0.5")
        [s] = await until_slices(env, lambda ss: addresses(ss) == ["10.244.0.5"])
        await env.api.ok("DELETE", f"{SLICES}/{s['metadata']['name']}")
        [again] = await until_slices(
            env, lambda ss: len(ss) == 1 and ss[0]["metadata"]["name"] != s["metadata"]["name"])
        assert addresses([again]) == ["10.244.0.5"]
