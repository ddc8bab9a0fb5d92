"""What the proxy forwards: ready endpoints only, target ports by port name, no rules for
headless, ExternalName or SCTP ports, nothing unvalidated reaches the rules."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest

from jetkube.services.proxy.model import (
    Endpoint,
    address_list,
    node_internal_ips,
    service_ports,
)


def service(**spec: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"clusterIP": "10.96.0.10", "ports": [{"name": "http", "port": 80}]}
    return {"metadata": {"namespace": "shop", "name": "web"}, "spec": {**base, **spec}}


def test_only_ready_addresses_become_endpoints() -> None:
    eps = {"subsets": [{"addresses": [{"ip": "10.244.1.3"}, {"ip": "10.244.1.2"}],
                        "notReadyAddresses": [{"ip": "10.244.1.9"}],
                        "ports": [{"name": "http", "port": 8080}]}]}
    [sp] = service_ports(service(), eps)
    assert sp.endpoints == (Endpoint("10.244.1.2", 8080), Endpoint("10.244.1.3", 8080))
    assert (sp.id, sp.label) == ("shop/web:http/TCP", "shop/web:http")


def test_named_target_ports_come_from_the_endpoints_port_of_the_same_name() -> None:
    svc = service(ports=[{"name": "http", "port": 80, "targetPort": "web"},
                         {"name": "metrics", "port": 9090, "targetPort": "prom"}])
    eps = {"subsets": [
        {"addresses": [{"ip": "10.244.1.2"}], "ports": [{"name": "http", "port": 8080},
                                                       {"name": "metrics", "port": 9100}]},
        {"addresses": [{"ip": "10.244.2.2"}], "ports": [{"name": "http", "port": 8081}]}]}
    http, metrics = service_ports(svc, eps)
    assert http.endpoints == (Endpoint("10.244.1.2", 8080), Endpoint("10.244.2.2", 8081))
    assert metrics.endpoints == (Endpoint("10.244.1.2", 9100),)


def test_protocols_must_match_between_service_and_endpoints_ports() -> None:
    svc = service(ports=[{"name": "dns", "port": 53, "protocol": "UDP"},
                         {"name": "dns-tcp", "port": 53, "protocol": "TCP"}])
    eps = {"subsets": [{"addresses": [{"ip": "10.244.1.2"}],
                        "ports": [{"name": "dns", "port": 5353, "protocol": "UDP"},
                                  {"name": "dns-tcp", "port": 5353, "protocol": "TCP"}]}]}
    udp, tcp = service_ports(svc, eps)
    assert (udp.protocol, udp.endpoints) == ("UDP", (Endpoint("10.244.1.2", 5353),))
    assert (tcp.protocol, tcp.endpoints) == ("TCP", (Endpoint("10.244.1.2", 5353),))


def test_headless_external_name_and_unallocated_services_are_skipped() -> None:
    assert service_ports(service(clusterIP="None"), None) == []
    assert service_ports(service(clusterIP=None), None) == []
    assert service_ports(service(type="ExternalName", externalName="db.example.com"), None) == []


def test_sctp_ports_are_skipped_with_a_warning() -> None:
    said: list[str] = []
    ports = service_ports(service(ports=[{"name": "s", "port": 9, "protocol": "SCTP"},
                                         {"name": "http", "port": 80}]), None, warn=said.append)
    assert [p.port_name for p in ports] == ["http"]
    assert len(said) == 1 and "SCTP" in said[0]


def test_cluster_ips_outside_the_service_cidr_are_not_proxied() -> None:
    said: list[str] = []
    cidr = ipaddress.IPv4Network("10.96.0.0/16")
    assert service_ports(service(clusterIP="8.8.8.8"), None, service_cidr=cidr, warn=said.append) == []
    assert said and "8.8.8.8" in said[0]
    assert service_ports(service(clusterIP="10.96.0.1; -j ACCEPT"), None) == []


def test_node_ports_load_balancer_ingress_and_affinity() -> None:
    svc = service(type="LoadBalancer", sessionAffinity="ClientIP",
                  ports=[{"name": "http", "port": 80, "nodePort": 30080}])
    svc["status"] = {"loadBalancer": {"ingress": [{"ip": "192.168.7.2"}, {"hostname": "x"}]}}
    [sp] = service_ports(svc, None)
    assert (sp.node_port, sp.load_balancer, sp.ingress_ips) == (30080, True, ("192.168.7.2",))
    assert sp.affinity_seconds == 10800 and sp.endpoints == ()
    [cluster_only] = service_ports(service(ports=[{"port": 80, "nodePort": 30080}]), None)
    assert cluster_only.node_port is None and cluster_only.port_name == ""


def test_bad_endpoint_addresses_are_dropped() -> None:
    eps = {"subsets": [{"addresses": [{"ip": "10.244.1.2\n-A INPUT -j ACCEPT"}, {"ip": "fe80::1"}],
                        "ports": [{"name": "http", "port": 8080}]}]}
    assert service_ports(service(), eps)[0].endpoints == ()


def test_node_addresses() -> None:
    node = {"status": {"addresses": [{"type": "InternalIP", "address": "127.0.0.1"},
                                     {"type": "Hostname", "address": "node-1"}]}}
    assert node_internal_ips(node) == ["127.0.0.1"]
    assert address_list(["127.0.0.1", " 192.168.1.0/24", "10.0.0.5/32", "127.0.0.1"]) == (
        "127.0.0.1", "192.168.1.0/24", "10.0.0.5")
    with pytest.raises(ValueError):
        address_list(["not-an-ip"])
