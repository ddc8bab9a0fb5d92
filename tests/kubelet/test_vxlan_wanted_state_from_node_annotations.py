"""The vxlan backend's decisions, without touching the host: the VTEP's name, VNI and
MAC per (scope, node), the annotations a node publishes, which other Nodes get FDB,
neighbour and route entries (those with backend-data, off this machine), and the MTU."""

from __future__ import annotations

import json

from jetkube.schemas.objects import Obj
from jetkube.services.kubelet.podnet import bridge_name, pod_network_mode
from jetkube.services.kubelet.podnet_vxlan import (
    ANN_BACKEND_DATA,
    ANN_BACKEND_TYPE,
    ANN_PUBLIC_IP,
    Peer,
    backend_data,
    fdb_entries,
    neigh_entries,
    node_annotations,
    own_vtep,
    pod_mtu,
    route_entries,
    scope_vtep_prefix,
    vtep_mac,
    vtep_name,
    vtep_vni,
    wanted_peers,
)

SCOPE = "3f2a9c1d4e5b"


def vx_node(name: str, cidr: str | None, ip: str | None, *, data: bool = True,
            public_ip: str | None = None, scope: str = SCOPE) -> Obj:
    ann = node_annotations(scope, name, public_ip or ip or "") if data else {}
    addrs = [{"type": "InternalIP", "address": ip}] if ip else []
    return {"metadata": {"name": name, "annotations": ann},
            "spec": {"podCIDR": cidr, "podCIDRs": [cidr]} if cidr else {},
            "status": {"addresses": addrs}}


def test_vtep_identity_is_stable_unique_per_node_and_fits_the_kernel() -> None:
    long = "a-rather-long-node-name.example.com"
    name = vtep_name(SCOPE, long)
    assert len(name) <= 15 and name.startswith(scope_vtep_prefix(SCOPE))
    assert name != vtep_name(SCOPE, "other") and name != bridge_name(SCOPE, long)
    assert vtep_name("another-scope", long)[:6] != name[:6]  # clean-ups tell scopes apart
    assert vtep_vni(SCOPE, long) == vtep_vni(SCOPE, long) != vtep_vni(SCOPE, "other")
    assert all(2 <= vtep_vni(s, n) < 1 << 24 for s in ("a", "b") for n in ("x", "y", "z"))
    mac = vtep_mac(SCOPE, long)
    assert mac.startswith("0e:") and len(mac.split(":")) == 6  # local, unicast
    assert mac != vtep_mac(SCOPE, "other")


def test_published_annotations_read_back_as_backend_data() -> None:
    ann = node_annotations(SCOPE, "n1", "192.168.5.10")
    assert ann[ANN_BACKEND_TYPE] == "vxlan" and ann[ANN_PUBLIC_IP] == "192.168.5.10"
    assert json.loads(ann[ANN_BACKEND_DATA]) == {"VNI": vtep_vni(SCOPE, "n1"),
                                                 "VtepMAC": vtep_mac(SCOPE, "n1")}
    assert backend_data({"metadata": {"annotations": ann}}) == (vtep_vni(SCOPE, "n1"),
                                                                vtep_mac(SCOPE, "n1"))


def test_malformed_or_foreign_backend_data_is_ignored() -> None:
    def with_ann(**ann: str) -> Obj:
        return {"metadata": {"annotations": ann}}

    good = node_annotations(SCOPE, "n1", "192.168.5.10")
    assert backend_data(with_ann()) is None
    assert backend_data(with_ann(**{**good, ANN_BACKEND_TYPE: "host-gw"})) is None
    for bad in ("not json", '{"VNI": 1}', '{"VNI": 0, "VtepMAC": "0e:00:00:00:00:01"}',
                '{"VNI": 5, "VtepMAC": "zz:00:00:00:00:01"}', '{"VNI": 5, "VtepMAC": "0e:01"}',
                '["VNI", 5]'):
        assert backend_data(with_ann(**{**good, ANN_BACKEND_DATA: bad})) is None, bad


def test_peers_are_other_machines_nodes_with_backend_data() -> None:
    nodes = [
        vx_node("me", "10.250.0.0/24", "192.168.5.10"),
        vx_node("far", "10.250.1.0/24", "192.168.5.11"),
        vx_node("same-machine", "10.250.2.0/24", "192.168.5.10"),
        vx_node("kctl-up", "10.250.3.0/24", "127.0.0.1"),
        vx_node("host-gw-node", "10.250.4.0/24", "192.168.5.12", data=False),
        vx_node("no-cidr", None, "192.168.5.13"),
        vx_node("no-ip", "10.250.6.0/24", None),
        vx_node("public", "10.250.7.0/24", "10.0.0.7", public_ip="203.0.113.7"),
    ]
    peers = wanted_peers(nodes, {"192.168.5.10", "127.0.0.1"}, "me")
    assert peers == (
        Peer("far", "192.168.5.11", vtep_vni(SCOPE, "far"), vtep_mac(SCOPE, "far"),
             "10.250.1.0", ("10.250.1.0/24",)),
        Peer("public", "203.0.113.7", vtep_vni(SCOPE, "public"), vtep_mac(SCOPE, "public"),
             "10.250.7.0", ("10.250.7.0/24",)),
    )
    far = peers[0]
    assert fdb_entries(peers)[far.mac] == ("192.168.5.11", far.vni)
    assert neigh_entries(peers)["10.250.1.0"] == far.mac
    assert route_entries(peers) == {"10.250.1.0/24": "10.250.1.0",
                                    "10.250.7.0/24": "10.250.7.0"}


def test_own_vtep_holds_the_podcidr_network_address_and_a_lowered_mtu() -> None:
    addrs = [{"ifname": "eth0", "mtu": 9000,
              "addr_info": [{"family": "inet", "local": "192.168.5.10", "prefixlen": 24}]}]
    assert pod_mtu(addrs, "192.168.5.10") == 8950
    assert pod_mtu(addrs, "192.168.9.9") == 1450  # not here: Ethernet's 1500 assumed
    v = own_vtep(SCOPE, "me", "192.168.5.10", "10.250.0.0/24", 8950)
    assert (v.name, v.address, v.local, v.mtu) == (vtep_name(SCOPE, "me"), "10.250.0.0/32",
                                                   "192.168.5.10", 8950)
    assert v.add_argv() == ["ip", "link", "add", v.name, "address", v.mac, "mtu", "8950",
                            "type", "vxlan", "id", str(v.vni), "local", "192.168.5.10",
                            "dstport", "8472", "nolearning"]


def test_pod_network_modes_resolve_the_old_host_routes_name() -> None:
    assert [pod_network_mode(m) for m in ("host-gw", "host-routes", "vxlan", "none")] == [
        "host-gw", "host-gw", "vxlan", "none"]
