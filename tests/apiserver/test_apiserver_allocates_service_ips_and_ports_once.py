"""Services: ClusterIPs and NodePorts from their ranges, never handed out twice."""

from __future__ import annotations

import asyncio
from typing import Any

from apiharness import make_api
from polling import until

from jetkube.services.machinery.store import MemoryStore

SVCS = "/api/v1/namespaces/default/services"


def svc(name: str, type_: str = "ClusterIP", **port: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
            "spec": {"type": type_, "selector": {"app": name},
                     "ports": [{"port": 80, **port}]}}


async def test_cluster_ips_and_node_ports_are_unique_across_api_servers() -> None:
    store = MemoryStore()
    a = await make_api(store, service_cidr="10.0.0.0/28")
    b = await make_api(store, service_cidr="10.0.0.0/28")
    outs = await asyncio.gather(*(
        (a if i % 2 else b).ok("POST", SVCS, svc(f"s{i}", "NodePort")) for i in range(10)))
    ips = [o["spec"]["clusterIP"] for o in outs]
    ports = [o["spec"]["ports"][0]["nodePort"] for o in outs]
    assert len(set(ips)) == 10 and len(set(ports)) == 10
    assert all(30000 <= p <= 32767 for p in ports)
    assert all(ip.startswith("10.0.0.") for ip in ips)


async def test_requested_ip_or_port_taken_or_out_of_range_is_422() -> None:
    api = await make_api()
    await api.ok("POST", SVCS, svc("a", "NodePort", nodePort=30080))
    code, st = await api.call("POST", SVCS, svc("b", "NodePort", nodePort=30080))
    assert code == 422 and "already allocated" in st["message"]
    code, st = await api.call("POST", SVCS, svc("c", "NodePort", nodePort=80))
    assert code == 422 and "30000-32767" in st["message"]
    body = svc("d")
    body["spec"]["clusterIP"] = "192.168.1.1"
    code, st = await api.call("POST", SVCS, body)
    assert code == 422 and "range" in st["message"]


async def test_deleting_a_service_frees_its_ip_and_port() -> None:
    api = await make_api(service_cidr="10.0.0.0/30")  # .2 is the only free address
    out = await api.ok("POST", SVCS, svc("a", "NodePort", nodePort=30500))
    assert out["spec"]["clusterIP"] == "10.0.0.2"
    code, _ = await api.call("POST", SVCS, svc("b"))
    assert code == 500  # the range is full
    await api.ok("DELETE", f"{SVCS}/a")
    # the address and the port come free once the deletion is through; until then the POST fails
    _, out = await until(lambda: api.call("POST", SVCS, svc("c", "NodePort", nodePort=30500)),
                         accept=lambda r: r[0] == 201, message="service c created on the freed IP and port")
    assert out["spec"]["clusterIP"] == "10.0.0.2"


async def test_headless_service_keeps_clusterip_none() -> None:
    api = await make_api()
    body = svc("h")
    body["spec"]["clusterIP"] = "None"
    out = await api.ok("POST", SVCS, body)
    assert out["spec"]["clusterIP"] == "None"
