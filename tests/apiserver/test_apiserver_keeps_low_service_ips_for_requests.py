"""ClusterIPs: dynamic allocation leaves the low band of the range (KEP-3070) to IPs
asked for by value, such as the cluster DNS's 10.96.0.10; and re-creating a Service
that exists is 409 AlreadyExists, even when it names the clusterIP it already holds."""

from __future__ import annotations

import ipaddress
from typing import Any

from apiharness import make_api

SVCS = "/api/v1/namespaces/default/services"


def svc(name: str, cluster_ip: str | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"selector": {"app": name}, "ports": [{"port": 80}]}
    if cluster_ip:
        spec["clusterIP"] = cluster_ip
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name}, "spec": spec}


async def test_dynamic_ips_come_from_above_the_low_band() -> None:
    api = await make_api(service_cidr="10.96.0.0/16")
    ips = [ipaddress.ip_address((await api.ok("POST", SVCS, svc(f"s{i}")))["spec"]["clusterIP"])
           for i in range(20)]
    low_band_end = ipaddress.ip_address("10.96.1.0")  # /16: 256 addresses kept back
    assert all(ip >= low_band_end for ip in ips), ips
    out = await api.ok("POST", SVCS, svc("dns", "10.96.0.10"))
    assert out["spec"]["clusterIP"] == "10.96.0.10"


async def test_the_low_band_is_used_once_the_rest_is_full() -> None:
    api = await make_api(service_cidr="10.0.0.0/27")  # band 16: .16-.30 dynamic first
    ips = [(await api.ok("POST", SVCS, svc(f"s{i}")))["spec"]["clusterIP"] for i in range(20)]
    assert ips[:15] == [f"10.0.0.{n}" for n in range(16, 31)]
    assert ips[15:] == [f"10.0.0.{n}" for n in range(2, 7)]


async def test_recreating_an_existing_service_with_its_ip_is_409() -> None:
    api = await make_api(service_cidr="10.96.0.0/16")
    await api.ok("POST", SVCS, svc("kube-dns", "10.96.0.10"))
    code, st = await api.call("POST", SVCS, svc("kube-dns", "10.96.0.10"))
    assert code == 409 and st["reason"] == "AlreadyExists", st
    got = await api.ok("GET", f"{SVCS}/kube-dns")
    assert got["spec"]["clusterIP"] == "10.96.0.10"  # the existing one keeps its address


async def test_a_rejected_node_port_gives_back_the_ip_it_took() -> None:
    api = await make_api(service_cidr="10.0.0.0/29")  # .2 to .6; dynamic from .6 first
    holder = svc("holder")
    holder["spec"].update(type="NodePort", ports=[{"port": 80, "nodePort": 30080}])
    assert (await api.ok("POST", SVCS, holder))["spec"]["clusterIP"] == "10.0.0.6"
    late = svc("late")
    late["spec"].update(type="NodePort", ports=[{"port": 80, "nodePort": 30080}])
    code, st = await api.call("POST", SVCS, late)  # took .2, then the port was refused
    assert code == 422 and "already allocated" in st["message"]
    out = await api.ok("POST", SVCS, svc("next"))
    assert out["spec"]["clusterIP"] == "10.0.0.2"  # given back, not leaked
