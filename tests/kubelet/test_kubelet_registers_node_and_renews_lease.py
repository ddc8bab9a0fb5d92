"""The agent registers its Node in one write (capacity, allocatable, addresses, nodeInfo
with the runtime's version, Ready and pressure conditions), renews its Lease in
kube-node-lease every 10 s, and posts the Node's status only when it changes (or every
5 min); a restarted agent updates the existing Node instead of failing."""

from __future__ import annotations

from pathlib import Path

from ctrlharness import Env

from jetkube.services.kubelet.testing import start_node


async def test_node_registration_lease_and_status(env: Env, tmp_path: Path) -> None:
    pressure: dict[str, tuple[bool, str]] = {}
    node = await start_node(env.rt, root_dir=tmp_path, labels={"zone": "a"})
    node.agent.node.pressure = lambda: pressure
    n = await env.api.ok("GET", "/api/v1/nodes/node-1")
    assert n["metadata"]["labels"]["zone"] == "a"
    assert n["metadata"]["labels"]["kubernetes.io/hostname"] == "node-1"
    st = n["status"]
    assert st["capacity"]["cpu"] == "4" and st["allocatable"]["memory"] == "8Gi"
    assert st["allocatable"]["pods"] == "110"
    assert {a["type"]: a["address"] for a in st["addresses"]} == {
        "InternalIP": "127.0.0.1", "Hostname": "node-1"}
    assert st["nodeInfo"]["containerRuntimeVersion"] == "sim://0.1.0"
    assert st["nodeInfo"]["kubeletVersion"].startswith("v1.")
    conds = {c["type"]: c for c in st["conditions"]}
    assert conds["Ready"]["status"] == "True" and conds["Ready"]["reason"] == "KubeletReady"
    for t in ("MemoryPressure", "DiskPressure", "PIDPressure"):
        assert conds[t]["status"] == "False"

    lease = await env.api.ok("GET", "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/"
                                    "leases/node-1")
    assert lease["spec"]["holderIdentity"] == "node-1"
    assert lease["metadata"]["ownerReferences"][0]["name"] == "node-1"
    t0 = lease["spec"]["renewTime"]
    env.client.calls.clear()
    await env.clock.advance(10)  # the first renewal comes at a random phase within 10 s
    await env.settle()
    lease = await env.api.ok("GET", "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/"
                                    "leases/node-1")
    assert lease["spec"]["renewTime"] > t0
    assert ("patch", "nodes") not in env.client.calls  # nothing changed: no status write

    pressure["MemoryPressure"] = (True, "50Mi available")
    await env.clock.advance(20)
    await env.settle()
    conds = {c["type"]: c for c in (await env.api.ok("GET", "/api/v1/nodes/node-1"))[
        "status"]["conditions"]}
    assert conds["MemoryPressure"]["status"] == "True"
    assert conds["MemoryPressure"]["reason"] == "KubeletHasInsufficientMemory"
    await node.stop()

    again = await start_node(env.rt, root_dir=tmp_path, labels={"zone": "b"})
    n = await env.api.ok("GET", "/api/v1/nodes/node-1")
    assert n["metadata"]["labels"]["zone"] == "b"
    assert {c["type"]: c["status"] for c in n["status"]["conditions"]}["MemoryPressure"] == \
        "False"
    await again.stop()
