"""Endpoints follow a service's pods: named target ports resolved per pod, ready and
not-ready addresses, pods without an IP, finished or terminating left out,
publishNotReadyAddresses honoured, written only on change, deleted with the service."""

from __future__ import annotations

from ctrlharness import Env, make_env
from polling import until

from jetkube.schemas.objects import Obj
from jetkube.services.controllers.context import ControllerContext, ControllerManagerOptions
from jetkube.services.controllers.endpoints import EndpointsController

NS = "/api/v1/namespaces/default"


async def add_pod(env: Env, name: str, ip: str | None, *, ready: bool = True,
                  labels: dict[str, str] | None = None, http_port: int | None = 8080,
                  node: str = "node-1", phase: str = "Running") -> None:
    ports = [{"name": "http", "containerPort": http_port}] if http_port else []
    await env.api.ok("POST", f"{NS}/pods", {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "labels": labels or {"app": "web"}},
        "spec": {"containers": [{"name": "c", "image": "nginx", "ports": ports}]}})
    await env.api.ok("POST", f"{NS}/pods/{name}/binding", {
        "apiVersion": "v1", "kind": "Binding", "metadata": {"name": name},
        "target": {"apiVersion": "v1", "kind": "Node", "name": node}})
    await set_status(env, name, ip, ready=ready, phase=phase)


async def set_status(env: Env, name: str, ip: str | None, *, ready: bool,
                     phase: str = "Running") -> None:
    cur = await env.api.ok("GET", f"{NS}/pods/{name}")
    status: Obj = {"phase": phase, "conditions": [
        {"type": "Ready", "status": "True" if ready else "False"}]}
    if ip:
        status["podIP"] = ip
    cur["status"] = status
    await env.api.ok("PUT", f"{NS}/pods/{name}/status", cur)


def addr(name: str, ip: str, uid: str, node: str = "node-1") -> Obj:
    return {"ip": ip, "nodeName": node,
            "targetRef": {"kind": "Pod", "namespace": "default", "name": name, "uid": uid}}


async def uids(env: Env) -> dict[str, str]:
    return {p["metadata"]["name"]: p["metadata"]["uid"] for p in await env.objects(f"{NS}/pods")}


async def endpoints(env: Env, name: str) -> Obj | None:
    code, out = await env.api.call("GET", f"{NS}/endpoints/{name}")
    return out if code == 200 else None


async def eventually(env: Env, name: str, want: list[Obj] | None) -> Obj | None:
    """The endpoints object once its subsets are ``want`` (None: once it is gone)."""
    def subsets(ep: Obj | None) -> list[Obj] | None:
        return None if ep is None else ep.get("subsets") or []
    return await until(lambda: endpoints(env, name), accept=lambda ep: subsets(ep) == want,
                       message=f"endpoints {name} with subsets {want}")


SERVICE = {
    "apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "labels": {"tier": "fe"}},
    "spec": {"selector": {"app": "web"}, "ports": [
        {"name": "http", "port": 80, "targetPort": "http"},
        {"name": "metrics", "port": 9090, "targetPort": 9100}]},
}
BOTH = [{"name": "http", "port": 8080, "protocol": "TCP"},
        {"name": "metrics", "port": 9100, "protocol": "TCP"}]


async def test_endpoints_resolve_ports_and_split_ready_from_not_ready() -> None:
    env = await make_env()
    try:
        await add_pod(env, "a", "10.244.0.5")
        await add_pod(env, "b", "10.244.0.6", ready=False)
        await add_pod(env, "c", None)  # no IP yet
        await add_pod(env, "d", "10.244.0.8")
        await add_pod(env, "e", "10.244.0.9", labels={"app": "other"})
        await add_pod(env, "f", "10.244.1.2", http_port=None, node="node-2")  # no "http" port
        await add_pod(env, "g", "10.244.0.10", phase="Succeeded")
        await add_pod(env, "h", "10.244.0.11", http_port=8081)
        await env.api.ok("DELETE", f"{NS}/pods/d")  # terminating gracefully on node-1
        ctl = EndpointsController(ControllerContext(env.rt, ControllerManagerOptions()))
        await env.start(ctl.controller)
        await env.api.ok("POST", f"{NS}/services", SERVICE)
        u = await uids(env)
        ep = await eventually(env, "web", [
            {"addresses": [addr("a", "10.244.0.5", u["a"])],
             "notReadyAddresses": [addr("b", "10.244.0.6", u["b"])], "ports": BOTH},
            {"addresses": [addr("h", "10.244.0.11", u["h"])],
             "ports": [{"name": "http", "port": 8081, "protocol": "TCP"},
                       {"name": "metrics", "port": 9100, "protocol": "TCP"}]},
            {"addresses": [addr("f", "10.244.1.2", u["f"], "node-2")],
             "ports": [{"name": "metrics", "port": 9100, "protocol": "TCP"}]},
        ])
        assert ep is not None
        assert ep["metadata"]["labels"]["tier"] == "fe"

        # readiness flips and an IP arrives: both move
        await set_status(env, "b", "10.244.0.6", ready=True)
        await set_status(env, "c", "10.244.0.7", ready=True)
        await eventually(env, "web", [
            {"addresses": [addr("a", "10.244.0.5", u["a"]), addr("b", "10.244.0.6", u["b"]),
                           addr("c", "10.244.0.7", u["c"])], "ports": BOTH},
            {"addresses": [addr("h", "10.244.0.11", u["h"])],
             "ports": [{"name": "http", "port": 8081, "protocol": "TCP"},
                       {"name": "metrics", "port": 9100, "protocol": "TCP"}]},
            {"addresses": [addr("f", "10.244.1.2", u["f"], "node-2")],
             "ports": [{"name": "metrics", "port": 9100, "protocol": "TCP"}]},
        ])

        # a change endpoints do not show writes nothing
        writes = sum(1 for c in env.client.calls if c[1] == "endpoints")
        await env.api.ok("PATCH", f"{NS}/pods/a", {"metadata": {"annotations": {"x": "y"}}},
                         content_type="application/merge-patch+json")
        await env.api.ok("PATCH", f"{NS}/services/web", {"metadata": {"annotations": {"x": "y"}}},
                         content_type="application/merge-patch+json")
        await env.settle()
        await env.settle()
        assert sum(1 for c in env.client.calls if c[1] == "endpoints") == writes

        # removed by hand: written again
        want = (await endpoints(env, "web") or {}).get("subsets")
        await env.api.ok("DELETE", f"{NS}/endpoints/web")
        await eventually(env, "web", want)

        await env.api.ok("DELETE", f"{NS}/services/web")
        await eventually(env, "web", None)
    finally:
        await env.close()


async def test_publish_not_ready_addresses_lists_every_pod_with_an_ip_as_ready() -> None:
    env = await make_env()
    try:
        await add_pod(env, "a", "10.244.0.5")
        await add_pod(env, "b", "10.244.0.6", ready=False)
        await add_pod(env, "d", "10.244.0.8", ready=False)
        await env.api.ok("DELETE", f"{NS}/pods/d")
        ctl = EndpointsController(ControllerContext(env.rt, ControllerManagerOptions()))
        await env.start(ctl.controller)
        svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "peers"},
               "spec": {"clusterIP": "None", "publishNotReadyAddresses": True,
                        "selector": {"app": "web"}, "ports": [{"port": 7000}]}}
        await env.api.ok("POST", f"{NS}/services", svc)
        u = await uids(env)
        ep = await eventually(env, "peers", [
            {"addresses": [addr("a", "10.244.0.5", u["a"]), addr("b", "10.244.0.6", u["b"]),
                           addr("d", "10.244.0.8", u["d"])],
             "ports": [{"port": 7000, "protocol": "TCP"}]}])
        assert ep is not None and "service.kubernetes.io/headless" in ep["metadata"]["labels"]
    finally:
        await env.close()


async def test_selectorless_services_and_their_endpoints_are_left_alone() -> None:
    env = await make_env()
    try:
        ctl = EndpointsController(ControllerContext(env.rt, ControllerManagerOptions()))
        await env.start(ctl.controller)
        await env.api.ok("POST", f"{NS}/services", {
            "apiVersion": "v1", "kind": "Service", "metadata": {"name": "ext"},
            "spec": {"ports": [{"port": 80}]}})
        mine = {"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "ext"},
                "subsets": [{"addresses": [{"ip": "127.0.0.2"}], "ports": [{"port": 80}]}]}
        await env.api.ok("POST", f"{NS}/endpoints", mine)
        await env.settle()
        ep = await endpoints(env, "ext")
        assert ep is not None and ep["subsets"][0]["addresses"] == [{"ip": "127.0.0.2"}]
        await env.api.ok("DELETE", f"{NS}/services/ext")
        await env.settle()
        assert await endpoints(env, "ext") is not None  # not ours to delete
    finally:
        await env.close()
