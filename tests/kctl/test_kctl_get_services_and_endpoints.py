"""kctl get svc / endpoints: kubectl's columns, cell for cell (node ports, <none>,
<pending>, load-balancer ingress clipped outside -o wide, SELECTOR, three endpoints
then "+ N more...")."""

from __future__ import annotations

from datetime import timedelta

import pytest
from kctl_fakeapi import FakeApi, Kctl
from kctl_tables import rows, ts

from jetkube.schemas.objects import Obj

# kctl's clock frozen at kctl_tables.NOW (ages never tick mid-test)
pytestmark = pytest.mark.usefixtures("frozen_clock")


def svc(name: str, typ: str, ports: list[Obj], *, ip: str = "10.96.0.20",
        selector: dict[str, str] | None = None, ingress: list[Obj] | None = None,
        external_ips: list[str] | None = None) -> Obj:
    spec: Obj = {"type": typ, "clusterIP": ip, "clusterIPs": [ip], "ports": ports}
    if selector is not None:
        spec["selector"] = selector
    if external_ips:
        spec["externalIPs"] = external_ips
    o: Obj = {"metadata": {"name": name, "namespace": "default",
                           "creationTimestamp": ts(timedelta(minutes=3))}, "spec": spec}
    if ingress is not None:
        o["status"] = {"loadBalancer": {"ingress": ingress}}
    return o


HEADERS = ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"]


def test_service_types_print_like_kubectl(api: FakeApi, kctl: Kctl) -> None:
    api.add("services", svc("a-cluster", "ClusterIP",
                            [{"port": 80, "protocol": "TCP"}, {"port": 53, "protocol": "UDP"}],
                            selector={"app": "a", "tier": "fe"}))
    api.add("services", svc("b-node", "NodePort",
                            [{"port": 80, "nodePort": 30080, "protocol": "TCP"}]))
    api.add("services", svc("c-lb-pending", "LoadBalancer",
                            [{"port": 443, "nodePort": 31443, "protocol": "TCP"}]))
    api.add("services", svc("d-lb", "LoadBalancer", [{"port": 80, "nodePort": 30001,
                                                     "protocol": "TCP"}],
                            ingress=[{"ip": "192.168.1.11"}, {"ip": "192.168.1.10"},
                                     {"ip": "192.168.1.10"}]))
    api.add("services", svc("e-headless", "ClusterIP", [], ip="None"))
    api.add("services", svc("f-ext", "ClusterIP", [{"port": 80, "protocol": "TCP"}],
                            external_ips=["203.0.113.5"]))
    code, out, err = kctl("get", "svc")
    assert code == 0, err
    assert rows(out) == [
        HEADERS,
        ["a-cluster", "ClusterIP", "10.96.0.20", "<none>", "80/TCP,53/UDP", "3m"],
        ["b-node", "NodePort", "10.96.0.20", "<none>", "80:30080/TCP", "3m"],
        ["c-lb-pending", "LoadBalancer", "10.96.0.20", "<pending>", "443:31443/TCP", "3m"],
        # two addresses are 25 characters: clipped to 16 outside -o wide
        ["d-lb", "LoadBalancer", "10.96.0.20", "192.168.1.10,...", "80:30001/TCP", "3m"],
        ["e-headless", "ClusterIP", "None", "<none>", "<none>", "3m"],
        ["f-ext", "ClusterIP", "10.96.0.20", "203.0.113.5", "80/TCP", "3m"],
    ]
    lines = out.splitlines()
    assert lines[1].index("ClusterIP") == lines[0].index("TYPE")


def test_wide_adds_the_selector_and_shows_every_ingress_address(api: FakeApi,
                                                               kctl: Kctl) -> None:
    api.add("services", svc("web", "LoadBalancer", [{"port": 80, "nodePort": 30001,
                                                    "protocol": "TCP"}],
                            selector={"tier": "fe", "app": "web"},
                            ingress=[{"ip": "192.168.1.11"}, {"ip": "192.168.1.10"}],
                            external_ips=["203.0.113.5"]))
    api.add("services", svc("bare", "ClusterIP", [{"port": 80, "protocol": "TCP"}]))
    code, out, _ = kctl("get", "svc", "-o", "wide")
    assert code == 0
    assert rows(out) == [
        [*HEADERS, "SELECTOR"],
        ["bare", "ClusterIP", "10.96.0.20", "<none>", "80/TCP", "3m", "<none>"],
        ["web", "LoadBalancer", "10.96.0.20", "192.168.1.10,192.168.1.11,203.0.113.5",
         "80:30001/TCP", "3m", "app=web,tier=fe"],
    ]


def test_a_short_ingress_is_whole_and_hostnames_count_without_an_ip(api: FakeApi,
                                                                    kctl: Kctl) -> None:
    ports = [{"port": 80, "nodePort": 30001, "protocol": "TCP"}]
    api.add("services", svc("one", "LoadBalancer", ports, ingress=[{"ip": "172.18.0.2"}]))
    api.add("services", svc("two", "LoadBalancer", ports,
                            ingress=[{"ip": "172.18.0.2"}, {"hostname": "lb.example"}]))
    _, out, _ = kctl("get", "svc")
    assert [r[3] for r in rows(out)[1:]] == ["172.18.0.2", "172.18.0.2,lb..."]


def endpoints(name: str, subsets: list[Obj]) -> Obj:
    return {"metadata": {"name": name, "namespace": "default",
                         "creationTimestamp": ts(timedelta(hours=2, minutes=5))},
            "subsets": subsets}


def addrs(*ips: str) -> list[Obj]:
    return [{"ip": ip} for ip in ips]


def test_endpoints_show_three_then_how_many_more(api: FakeApi, kctl: Kctl) -> None:
    api.add("endpoints", endpoints("a-two", [
        {"addresses": addrs("10.244.1.5", "10.244.2.3"), "ports": [{"port": 8080}]}]))
    api.add("endpoints", endpoints("b-four", [
        {"addresses": addrs("10.244.1.5", "10.244.2.3", "10.244.2.4"),
         "ports": [{"port": 8080}]},
        {"addresses": addrs("10.244.3.9"), "ports": [{"port": 8080}]}]))
    api.add("endpoints", endpoints("c-empty", []))
    # port by port, each over every address: kubectl's order
    api.add("endpoints", endpoints("d-two-ports", [
        {"addresses": addrs("10.244.1.5", "10.244.2.3"),
         "notReadyAddresses": addrs("10.244.9.9"),
         "ports": [{"name": "http", "port": 80}, {"name": "metrics", "port": 9100}]}]))
    api.add("endpoints", endpoints("e-headless", [{"addresses": addrs("10.244.1.5")}]))
    api.add("endpoints", endpoints("f-ipv6", [{"addresses": addrs("fd00::5"),
                                               "ports": [{"port": 80}]}]))
    code, out, err = kctl("get", "endpoints")
    assert code == 0, err
    assert rows(out) == [
        ["NAME", "ENDPOINTS", "AGE"],
        ["a-two", "10.244.1.5:8080,10.244.2.3:8080", "125m"],
        ["b-four", "10.244.1.5:8080,10.244.2.3:8080,10.244.2.4:8080", "+", "1", "more...",
         "125m"],
        ["c-empty", "<none>", "125m"],
        ["d-two-ports", "10.244.1.5:80,10.244.2.3:80,10.244.1.5:9100", "+", "1", "more...",
         "125m"],
        ["e-headless", "10.244.1.5", "125m"],
        ["f-ipv6", "[fd00::5]:80", "125m"],
    ]


def test_endpoints_with_only_not_ready_addresses_print_an_empty_cell(api: FakeApi,
                                                                     kctl: Kctl) -> None:
    api.add("endpoints", endpoints("web", [{"notReadyAddresses": addrs("10.244.1.5"),
                                            "ports": [{"port": 80}]}]))
    _, out, _ = kctl("get", "ep", "web")
    header, row = out.splitlines()
    assert row.split() == ["web", "125m"]
    assert row[header.index("ENDPOINTS"):header.index("AGE")].strip() == ""
