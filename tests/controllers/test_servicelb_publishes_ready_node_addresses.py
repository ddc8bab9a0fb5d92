"""ServiceLB: a LoadBalancer service's ingress is the Ready nodes' addresses (ExternalIP
before InternalIP, distinct, sorted), follows nodes joining, leaving and turning
NotReady, is written through the status subresource only on change, is cleared when
the service stops being a LoadBalancer, and leaves services with a loadBalancerClass
alone."""

from __future__ import annotations

from typing import Any

from ctrlharness import Env
from polling import until

from jetkube.schemas.objects import Obj
from jetkube.services.controllers.context import ControllerContext, ControllerManagerOptions
from jetkube.services.controllers.servicelb import ServiceLBController, desired_ingress

NS = "/api/v1/namespaces/default"
NODES = "/api/v1/nodes"


def node_body(name: str, internal: str | None, external: str | None = None, *,
              ready: bool = True, labels: dict[str, str] | None = None) -> Obj:
    addrs = [{"type": "Hostname", "address": name}]
    if internal:
        addrs.append({"type": "InternalIP", "address": internal})
    if external:
        addrs.append({"type": "ExternalIP", "address": external})
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": labels or {}},
            "status": {"addresses": addrs, "conditions": [
                {"type": "Ready", "status": "True" if ready else "False"}]}}


async def add_node(env: Env, name: str, internal: str | None, external: str | None = None, *,
                   ready: bool = True, labels: dict[str, str] | None = None) -> None:
    body = node_body(name, internal, external, ready=ready, labels=labels)
    await env.api.ok("POST", NODES, {k: v for k, v in body.items() if k != "status"})
    await set_node(env, name, body["status"])


async def set_node(env: Env, name: str, status: Obj) -> None:
    cur = await env.api.ok("GET", f"{NODES}/{name}")
    cur["status"] = status
    await env.api.ok("PUT", f"{NODES}/{name}/status", cur)


async def add_service(env: Env, name: str, typ: str = "LoadBalancer", **spec: Any) -> None:
    await env.api.ok("POST", f"{NS}/services", {
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
        "spec": {"type": typ, "selector": {"app": name}, "ports": [{"port": 80}], **spec}})


async def ingress(env: Env, name: str) -> list[str] | None:
    code, svc = await env.api.call("GET", f"{NS}/services/{name}")
    if code != 200:
        return None
    return [i["ip"] for i in ((svc.get("status") or {}).get("loadBalancer") or {}).get(
        "ingress") or []]


async def eventually(env: Env, name: str, want: list[str]) -> None:
    await until(lambda: ingress(env, name), accept=lambda got: got == want,
                message=f"service {name}: ingress {want}")


def status_writes(env: Env) -> int:
    return sum(1 for verb, res in env.client.calls if (verb, res) == ("update", "services"))


async def start(env: Env) -> ServiceLBController:
    ctl = ServiceLBController(ControllerContext(env.rt, ControllerManagerOptions()))
    await env.start(ctl.controller)
    return ctl


def test_desired_ingress_prefers_external_ips_dedups_and_sorts() -> None:
    nodes = [node_body("a", "10.0.0.10"), node_body("b", "10.0.0.9", "203.0.113.7"),
             node_body("c", "10.0.0.10"), node_body("d", "10.0.0.2", ready=False),
             node_body("e", "10.0.0.3", labels={
                 "node.kubernetes.io/exclude-from-external-load-balancers": ""}),
             node_body("f", None)]
    assert desired_ingress(nodes) == [{"ip": "10.0.0.10"}, {"ip": "203.0.113.7"}]
    assert desired_ingress([node_body("a", "10.0.0.10"), node_body("b", "10.0.0.9")]) == [
        {"ip": "10.0.0.9"}, {"ip": "10.0.0.10"}]  # by address, not by text


async def test_loadbalancer_ingress_follows_ready_nodes(env: Env) -> None:
    await add_node(env, "node-1", "172.18.0.3")
    await add_node(env, "node-2", "172.18.0.2")
    await add_node(env, "node-3", "172.18.0.4", ready=False)
    await start(env)
    await add_service(env, "web")
    await add_service(env, "plain", "ClusterIP")
    await add_service(env, "other", loadBalancerClass="example.com/lb")
    await eventually(env, "web", ["172.18.0.2", "172.18.0.3"])
    svc = await env.api.ok("GET", f"{NS}/services/web")
    assert svc["status"]["loadBalancer"]["ingress"] == [{"ip": "172.18.0.2"},
                                                        {"ip": "172.18.0.3"}]
    assert await ingress(env, "plain") == [] and await ingress(env, "other") == []

    # a node turning Ready joins, one going NotReady leaves, a new ExternalIP wins
    await set_node(env, "node-3", node_body("node-3", "172.18.0.4")["status"])
    await eventually(env, "web", ["172.18.0.2", "172.18.0.3", "172.18.0.4"])
    await set_node(env, "node-1", node_body("node-1", "172.18.0.3", ready=False)["status"])
    await eventually(env, "web", ["172.18.0.2", "172.18.0.4"])
    await set_node(env, "node-2", node_body("node-2", "172.18.0.2", "198.51.100.2")["status"])
    await eventually(env, "web", ["172.18.0.4", "198.51.100.2"])
    await env.api.ok("DELETE", f"{NODES}/node-3")
    await eventually(env, "web", ["198.51.100.2"])
    # a service created later gets the same
    await add_service(env, "late")
    await eventually(env, "late", ["198.51.100.2"])


async def test_status_is_written_only_when_it_changes(env: Env) -> None:
    await add_node(env, "node-1", "172.18.0.2")
    await start(env)
    await add_service(env, "web")
    await eventually(env, "web", ["172.18.0.2"])
    await env.settle()
    writes = status_writes(env)
    assert writes == 1
    # changes that do not move the ingress write nothing: a node heartbeat-like status
    # write, a node label, a service annotation
    await set_node(env, "node-1", {**node_body("node-1", "172.18.0.2")["status"],
                                   "nodeInfo": {"kubeletVersion": "v1.30.0"}})
    await env.api.ok("PATCH", f"{NODES}/node-1", {"metadata": {"labels": {"a": "b"}}},
                     content_type="application/merge-patch+json")
    await env.api.ok("PATCH", f"{NS}/services/web", {"metadata": {"annotations": {"x": "y"}}},
                     content_type="application/merge-patch+json")
    await env.settle()
    await env.settle()
    assert status_writes(env) == writes


async def test_ingress_is_cleared_when_the_service_stops_being_a_loadbalancer(env: Env) -> None:
    await add_node(env, "node-1", "172.18.0.2")
    await start(env)
    await add_service(env, "web")
    await eventually(env, "web", ["172.18.0.2"])
    cur = await env.api.ok("GET", f"{NS}/services/web")
    cur["spec"]["type"] = "ClusterIP"
    for p in cur["spec"]["ports"]:
        p.pop("nodePort", None)
    cur["spec"].pop("externalTrafficPolicy", None)
    cur["spec"].pop("allocateLoadBalancerNodePorts", None)
    await env.api.ok("PUT", f"{NS}/services/web", cur)
    await eventually(env, "web", [])
    svc = await env.api.ok("GET", f"{NS}/services/web")
    assert svc["status"].get("loadBalancer") in ({}, None)
    # and back: published again
    await env.api.ok("PATCH", f"{NS}/services/web", {"spec": {"type": "LoadBalancer"}},
                     content_type="application/merge-patch+json")
    await eventually(env, "web", ["172.18.0.2"])


async def test_no_ready_node_means_no_ingress_until_one_is(env: Env) -> None:
    await start(env)
    await add_service(env, "web")
    await env.settle()
    assert await ingress(env, "web") == [] and status_writes(env) == 0
    await add_node(env, "node-1", "172.18.0.2")
    await eventually(env, "web", ["172.18.0.2"])
