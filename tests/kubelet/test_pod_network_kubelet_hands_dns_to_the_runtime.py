"""The node agent resolves a pod's DNS before its sandbox: the runtime's SandboxSpec
carries the cluster DNS for ClusterFirst pods, the pod's own dnsConfig for dnsPolicy
None, nothing (the runtime's default) for Default; without --cluster-dns a
ClusterFirst pod gets a MissingClusterDNS warning event."""

from __future__ import annotations

from typing import Any

from ctrlharness import Env

from jetkube.services.kubelet.runtime import Sandbox, SandboxSpec
from jetkube.services.kubelet.testing import TestNode, start_node

PODS = "/api/v1/namespaces/default/pods"


def pod(name: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"nodeName": "node-1", "containers": [{"name": "c", "image": "x:1"}],
                     **spec}}


def record_sandboxes(node: TestNode) -> dict[str, SandboxSpec]:
    seen: dict[str, SandboxSpec] = {}
    real = node.runtime.run_sandbox

    async def spy(spec: SandboxSpec) -> Sandbox:
        seen[spec.pod.name] = spec
        return await real(spec)

    node.runtime.run_sandbox = spy  # type: ignore[method-assign]
    return seen


async def test_sandbox_specs_carry_each_pods_dns(env: Env) -> None:
    node = await start_node(env.rt, cluster_dns=("10.96.0.10",), resolv_conf=None)
    seen = record_sandboxes(node)
    await env.api.ok("POST", PODS, pod("first"))
    await env.api.ok("POST", PODS, pod("own", dnsPolicy="None", dnsConfig={
        "nameservers": ["9.9.9.9"], "searches": ["x.example"],
        "options": [{"name": "ndots", "value": "1"}]}))
    await env.api.ok("POST", PODS, pod("host", dnsPolicy="Default"))
    await env.until(lambda: len(seen) == 3)
    first = seen["first"]
    assert (first.dns_servers, first.dns_search, first.dns_options) == (
        ["10.96.0.10"], ["default.svc.cluster.local", "svc.cluster.local", "cluster.local"],
        ["ndots:5"])
    own = seen["own"]
    assert (own.dns_servers, own.dns_search, own.dns_options) == (
        ["9.9.9.9"], ["x.example"], ["ndots:1"])
    host = seen["host"]
    assert (host.dns_servers, host.dns_search, host.dns_options) == ([], [], [])
    assert "MissingClusterDNS" not in node.reasons()
    await node.stop()


async def test_without_cluster_dns_cluster_first_pods_get_a_warning(env: Env) -> None:
    node = await start_node(env.rt, resolv_conf=None)
    seen = record_sandboxes(node)
    await env.api.ok("POST", PODS, pod("lost"))
    await env.until(lambda: "lost" in seen and "MissingClusterDNS" in node.reasons("lost"))
    assert seen["lost"].dns_servers == []
    assert node.reasons("lost").count("MissingClusterDNS") == 1
    await node.stop()
