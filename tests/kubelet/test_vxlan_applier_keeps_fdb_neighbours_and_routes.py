"""The vxlan applier's commands against a fake host that keeps links, addresses, FDB,
neighbour and proto-74 route tables: the VTEP is made once (and remade when it differs),
each peer's entries are replaced idempotently, withdrawn when its Node goes or moves,
and everything goes with PodNetwork.remove (and a scope's clean-up)."""

from __future__ import annotations

import asyncio
import json

import pytest

from jetkube.schemas.objects import Obj
from jetkube.services.kubelet.podnet import PodNetwork, route_metric
from jetkube.services.kubelet.podnet_vxlan import (
    VxlanBackend,
    delete_scope_vteps,
    node_annotations,
    vtep_mac,
    vtep_name,
    vtep_vni,
)
from jetkube.services.machinery.hostnet import HostNet, HostNetError

SCOPE = "sc0pe"
PUBLIC = "192.168.5.10"


def vx_node(name: str, cidr: str, ip: str, *, data: bool = True) -> Obj:
    return {"metadata": {"name": name,
                         "annotations": node_annotations(SCOPE, name, ip) if data else {}},
            "spec": {"podCIDR": cidr, "podCIDRs": [cidr]},
            "status": {"addresses": [{"type": "InternalIP", "address": ip}]}}


def arg(argv: list[str], key: str) -> str:
    return argv[argv.index(key) + 1]


class FakeHost:
    """Just enough of ip, bridge and iptables for the vxlan backend and its PodNetwork."""

    def __init__(self) -> None:
        self.links: dict[str, Obj] = {"eth0": {"ifname": "eth0", "mtu": 9000, "flags": ["UP"]}}
        self.addrs: dict[str, set[str]] = {"eth0": {f"{PUBLIC}/24"}}
        self.fdb: dict[str, dict[str, tuple[str, int]]] = {}
        self.neigh: dict[str, dict[str, str]] = {}
        self.routes: list[Obj] = []
        self.commands: list[list[str]] = []

    def mutations(self) -> list[list[str]]:
        return [c for c in self.commands if "-j" not in c and "-S" not in c and "-C" not in c]

    async def __call__(self, argv: list[str], stdin: str | None) -> str:
        self.commands.append(argv)
        if argv[:4] == ["ip", "-j", "-4", "addr"]:
            devs = [argv[-1]] if "dev" in argv else list(self.links)
            return json.dumps([{"ifname": d, "mtu": self.links[d]["mtu"], "addr_info": [
                {"family": "inet", "local": a.split("/")[0], "prefixlen": int(a.split("/")[1])}
                for a in sorted(self.addrs.get(d, ()))]} for d in devs])
        if argv[:2] == ["ip", "addr"]:
            (self.addrs.setdefault(argv[-1], set()).add if argv[2] == "add"
             else self.addrs[argv[-1]].discard)(argv[3])
            return ""
        if argv[:3] == ["ip", "-j", "-d"] or argv[:4] == ["ip", "-j", "link", "show"]:
            return json.dumps([v for v in self.links.values() if "linkinfo" in v])
        if argv[:3] == ["ip", "link", "add"]:
            name = argv[3]
            assert name not in self.links, "the kernel refuses a second device of one name"
            self.links[name] = {"ifname": name, "mtu": int(arg(argv, "mtu")), "flags": [],
                                "address": arg(argv, "address"), "linkinfo": {
                                    "info_kind": "vxlan", "info_data": {
                                        "id": int(arg(argv, "id")), "local": arg(argv, "local"),
                                        "port": int(arg(argv, "dstport")),
                                        "learning": "nolearning" not in argv}}}
            return ""
        if argv[:3] == ["ip", "link", "set"]:
            self.links[argv[3]]["flags"] = ["UP"]
            return ""
        if argv[:3] == ["ip", "link", "del"]:
            if argv[3] not in self.links:
                raise HostNetError(argv, f'Cannot find device "{argv[3]}"')
            del self.links[argv[3]]
            self.addrs.pop(argv[3], None)
            self.fdb.pop(argv[3], None)
            self.neigh.pop(argv[3], None)
            self.routes = [r for r in self.routes if r.get("dev") != argv[3]]
            return ""
        if argv[:3] == ["bridge", "-j", "fdb"]:
            own = self.links[argv[-1]]["linkinfo"]["info_data"]["id"]
            return json.dumps([{"mac": m, "dst": d, **({"vni": v} if v != own else {}),
                                "state": "permanent"}
                               for m, (d, v) in self.fdb.get(argv[-1], {}).items()])
        if argv[:3] == ["bridge", "fdb", "replace"]:
            self.fdb.setdefault(arg(argv, "dev"), {})[argv[3]] = (arg(argv, "dst"),
                                                                  int(arg(argv, "vni")))
            return ""
        if argv[:3] == ["bridge", "fdb", "del"]:
            assert argv[4:] == ["dev", arg(argv, "dev")], "dst without vni deletes nothing"
            self.fdb.get(arg(argv, "dev"), {}).pop(argv[3], None)
            return ""
        if argv[:4] == ["ip", "-j", "-4", "neigh"]:
            return json.dumps([{"dst": ip, "lladdr": m, "state": ["PERMANENT"]}
                               for ip, m in self.neigh.get(argv[-1], {}).items()])
        if argv[:3] == ["ip", "neigh", "replace"]:
            self.neigh.setdefault(arg(argv, "dev"), {})[argv[3]] = arg(argv, "lladdr")
            return ""
        if argv[:3] == ["ip", "neigh", "del"]:
            if argv[3] not in self.neigh.get(arg(argv, "dev"), {}):
                raise HostNetError(argv, "RTNETLINK answers: No such file or directory")
            del self.neigh[arg(argv, "dev")][argv[3]]
            return ""
        if argv[:5] == ["ip", "-j", "-4", "route", "show"]:
            return json.dumps(self.routes)
        if argv[:3] == ["ip", "route", "replace"]:
            assert arg(argv, "dev") in self.links and "onlink" in argv
            dst, metric = argv[3], int(arg(argv, "metric"))
            self.routes = [r for r in self.routes if (r["dst"], r["metric"]) != (dst, metric)]
            self.routes.append({"dst": dst, "gateway": arg(argv, "via"), "dev": arg(argv, "dev"),
                                "metric": metric, "flags": ["onlink"]})
            return ""
        if argv[:3] == ["ip", "route", "del"]:
            dst, metric = argv[3], int(arg(argv, "metric"))
            self.routes = [r for r in self.routes if (r["dst"], r["metric"]) != (dst, metric)]
            return ""
        if argv[0] == "iptables-restore":
            return ""
        if argv[0] == "iptables":
            if "-S" in argv:
                return "-N DOCKER-USER\n"
            if "-C" in argv:
                raise HostNetError(argv, "Bad rule")
            return ""
        raise AssertionError(f"unexpected command {argv}")


async def sync(pn: PodNetwork) -> None:
    pn.synced.clear()
    pn.kick()
    await asyncio.wait_for(pn.synced.wait(), 5)


@pytest.fixture
def host() -> FakeHost:
    return FakeHost()


async def test_vtep_and_peer_entries_follow_the_nodes(host: FakeHost) -> None:
    pn = PodNetwork(SCOPE, "me", hostnet=HostNet(runner=host), mode="vxlan", public_ip=PUBLIC)
    dev, metric = vtep_name(SCOPE, "me"), route_metric(SCOPE, "me")
    me, far = vx_node("me", "10.250.0.0/24", PUBLIC), vx_node("far", "10.250.1.0/24",
                                                              "192.168.5.11")
    pn.set_nodes([me, far])
    pn.set_own_cidr("10.250.0.0/24")
    await asyncio.wait_for(pn.synced.wait(), 5)

    link = host.links[dev]
    assert link["linkinfo"]["info_data"] == {"id": vtep_vni(SCOPE, "me"), "local": PUBLIC,
                                             "port": 8472, "learning": False}
    assert (link["address"], link["mtu"], link["flags"]) == (vtep_mac(SCOPE, "me"), 8950,
                                                             ["UP"])
    assert host.addrs[dev] == {"10.250.0.0/32"}
    far_mac = vtep_mac(SCOPE, "far")
    assert host.fdb[dev] == {far_mac: ("192.168.5.11", vtep_vni(SCOPE, "far"))}
    assert host.neigh[dev] == {"10.250.1.0": far_mac}
    assert host.routes == [{"dst": "10.250.1.0/24", "gateway": "10.250.1.0", "dev": dev,
                            "metric": metric, "flags": ["onlink"]}]

    # applied again (the informer's resync): nothing is changed, nothing remade
    before = len(host.mutations())
    pn.kick(force=True)
    await sync(pn)
    again = host.mutations()[before:]
    assert ["iptables-restore", "-w", "5", "--noflush"] in again  # it did sync
    assert [c for c in again if c[0] in ("ip", "bridge")] == []

    # the peer moves to another machine: its FDB entry is replaced, not doubled
    moved = vx_node("far", "10.250.1.0/24", "192.168.5.21")
    newer = vx_node("farther", "10.250.2.0/24", "192.168.5.22")
    pn.set_nodes([me, moved, newer])
    await sync(pn)
    assert host.fdb[dev] == {far_mac: ("192.168.5.21", vtep_vni(SCOPE, "far")),
                             vtep_mac(SCOPE, "farther"): ("192.168.5.22",
                                                          vtep_vni(SCOPE, "farther"))}
    assert sorted(r["dst"] for r in host.routes) == ["10.250.1.0/24", "10.250.2.0/24"]

    # a node goes (or stops publishing backend-data): its route, neighbour and FDB go;
    # another agent's route to the same CIDR stays
    host.routes.append({"dst": "10.250.2.0/24", "gateway": "10.250.2.0", "dev": "other",
                        "metric": 12345})
    pn.set_nodes([me, vx_node("far", "10.250.1.0/24", "192.168.5.21", data=False)])
    await sync(pn)
    assert host.fdb[dev] == {} and host.neigh[dev] == {}
    assert [(r["dst"], r["metric"]) for r in host.routes] == [("10.250.2.0/24", 12345)]

    await pn.remove()
    assert dev not in host.links
    assert [(r["dst"], r["metric"]) for r in host.routes] == [("10.250.2.0/24", 12345)]


async def test_a_vtep_that_differs_is_made_again(host: FakeHost) -> None:
    backend = VxlanBackend(HostNet(runner=host), SCOPE, "me", PUBLIC, 7)
    state = await backend.wanted([vx_node("far", "10.250.1.0/24", "192.168.5.11")],
                                 "10.250.0.0/24")
    await backend.apply(state)
    dev = backend.dev
    host.links[dev]["linkinfo"]["info_data"]["local"] = "192.168.5.99"  # made by hand
    host.links[dev]["flags"] = []
    await backend.apply(state)
    adds = [c for c in host.commands if c[:3] == ["ip", "link", "add"]]
    assert len(adds) == 2 and ["ip", "link", "del", dev] in host.commands
    assert host.links[dev]["linkinfo"]["info_data"]["local"] == PUBLIC
    assert host.links[dev]["flags"] == ["UP"] and host.fdb[dev]  # entries back on the new one


async def test_a_loopback_node_ip_gets_no_vtep(host: FakeHost,
                                               caplog: pytest.LogCaptureFixture) -> None:
    pn = PodNetwork(SCOPE, "me", hostnet=HostNet(runner=host), mode="vxlan",
                    public_ip="127.0.0.1")
    pn.own_cidr = "10.250.0.0/24"
    pn.set_nodes([vx_node("far", "10.250.1.0/24", "192.168.5.11")])
    assert await pn.sync()
    assert [n for n in host.links if n != "eth0"] == [] and host.routes == []
    assert "non-loopback --node-ip" in caplog.text


async def test_a_scope_clean_up_removes_its_vteps_only(host: FakeHost) -> None:
    hostnet = HostNet(runner=host)
    for scope, node in ((SCOPE, "a"), (SCOPE, "b"), ("other", "a")):
        b = VxlanBackend(hostnet, scope, node, PUBLIC, route_metric(scope, node))
        await b.apply(await b.wanted([], "10.250.0.0/24"))
    assert sorted(await delete_scope_vteps(hostnet, SCOPE)) == sorted(
        [vtep_name(SCOPE, "a"), vtep_name(SCOPE, "b")])
    assert [n for n in host.links if n != "eth0"] == [vtep_name("other", "a")]
