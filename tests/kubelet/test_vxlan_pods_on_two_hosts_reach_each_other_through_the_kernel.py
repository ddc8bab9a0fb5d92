"""The vxlan backend on the real kernel: two "hosts" (network namespaces joined by a
veth pair on 172.31.254.0/24), each with a bridge on its node's podCIDR and one "pod"
(a namespace veth'd to that bridge).  Each host's PodNetwork (vxlan mode, its commands
prefixed with ``ip netns exec <host>``) is fed both Node objects; then pod A pings pod
B by pod IP and the packets leave through host A's VXLAN device.  When node B leaves
host A's view its route, neighbour and FDB entries are withdrawn and the ping fails;
remove() takes the VTEP away.  Everything made is deleted whatever happens.

Needs root (namespaces, links); skipped without, a failure under CI.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from dockerfixtures import in_ci
from polling import until

from jetkube.schemas.objects import Obj
from jetkube.services.kubelet.podnet import PodNetwork, bridge_name
from jetkube.services.kubelet.podnet_vxlan import node_annotations, vtep_name
from jetkube.services.machinery.hostnet import HostNet, missing_privileges

CIDRS = {"a": "10.250.0.0/24", "b": "10.250.1.0/24"}
HOST_IPS = {"a": "172.31.254.1", "b": "172.31.254.2"}
POD_IPS = {"a": "10.250.0.2", "b": "10.250.1.2"}


def sh(*argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, check=check, timeout=10)


def node(name: str, scope: str) -> Obj:
    return {"metadata": {"name": f"node-{name}",
                         "annotations": node_annotations(scope, f"node-{name}", HOST_IPS[name])},
            "spec": {"podCIDR": CIDRS[name], "podCIDRs": [CIDRS[name]]},
            "status": {"addresses": [{"type": "InternalIP", "address": HOST_IPS[name]}]}}


def in_netns(ns: str) -> HostNet:
    """A HostNet whose every command runs in network namespace ``ns``."""
    plain = HostNet().run

    async def run(argv: list[str], stdin: str | None) -> str:
        return await plain(["ip", "netns", "exec", ns, *argv], stdin)
    return HostNet(runner=run)


@pytest.fixture
def hosts() -> Iterator[dict[str, str]]:
    """Namespaces host-a, host-b, pod-a, pod-b (unique names), wired; deleted afterwards."""
    why = missing_privileges() or (None if PING else "needs ping (iputils-ping or busybox)")
    if why:
        if in_ci():
            pytest.fail(f"the vxlan test {why}; CI is set, so it must run")
        pytest.skip(f"the vxlan test {why}")
    tag = uuid.uuid4().hex[:6]
    ns = {k: f"jkvx-{tag}-{k}" for k in ("host-a", "host-b", "pod-a", "pod-b")}
    try:
        for name in ns.values():
            sh("ip", "netns", "add", name)
        sh("ip", "link", "add", "name", "up0", "netns", ns["host-a"], "type", "veth",
           "peer", "name", "up0", "netns", ns["host-b"])
        for h in ("a", "b"):
            host, pod = ns[f"host-{h}"], ns[f"pod-{h}"]
            br, gw = bridge_name("unused", h), CIDRS[h].replace(".0/24", ".1/24")
            cmds = [["ip", "addr", "add", f"{HOST_IPS[h]}/24", "dev", "up0"],
                    ["ip", "link", "set", "up0", "up"], ["ip", "link", "set", "lo", "up"],
                    ["ip", "link", "add", br, "type", "bridge"],
                    ["ip", "addr", "add", gw, "dev", br], ["ip", "link", "set", br, "up"],
                    ["ip", "link", "add", "pod0", "type", "veth", "peer", "name", "eth0",
                     "netns", pod],
                    ["ip", "link", "set", "pod0", "master", br],
                    ["ip", "link", "set", "pod0", "up"],
                    ["sysctl", "-qw", "net.ipv4.ip_forward=1"]]
            for c in cmds:
                sh("ip", "netns", "exec", host, *c)
            for c in (["ip", "addr", "add", f"{POD_IPS[h]}/24", "dev", "eth0"],
                      ["ip", "link", "set", "eth0", "up"], ["ip", "link", "set", "lo", "up"],
                      ["ip", "route", "add", "default", "via", gw.split("/")[0]]):
                sh("ip", "netns", "exec", pod, *c)
        yield ns
    finally:
        for name in ns.values():
            sh("ip", "netns", "del", name, check=False)


PING = ["ping"] if shutil.which("ping") else ["busybox", "ping"] if shutil.which("busybox") else []


def ping(ns: str, ip: str) -> bool:
    return sh("ip", "netns", "exec", ns, *PING, "-c1", "-W1", ip, check=False).returncode == 0


def link(ns: str, dev: str) -> Obj:
    [found] = json.loads(sh("ip", "-n", ns, "-j", "-s", "-d", "link", "show", "dev", dev).stdout)
    return dict(found)


def tx_packets(ns: str, dev: str) -> int:
    return int(link(ns, dev)["stats64"]["tx"]["packets"])


def entries(ns: str, dev: str) -> tuple[Any, Any, Any]:
    fdb = json.loads(sh("ip", "netns", "exec", ns, "bridge", "-j", "fdb", "show", "dev",
                        dev).stdout or "[]")
    neigh = json.loads(sh("ip", "-n", ns, "-j", "-4", "neigh", "show", "dev", dev).stdout
                       or "[]")
    routes = json.loads(sh("ip", "-n", ns, "-j", "-4", "route", "show", "proto", "74").stdout
                        or "[]")
    return [e for e in fdb if e.get("dst")], neigh, routes


async def test_pods_reach_each_other_through_the_vteps_and_lose_a_withdrawn_peer(
        hosts: dict[str, str]) -> None:
    scope = f"jkvx-test-{uuid.uuid4().hex[:6]}"
    nodes = [node("a", scope), node("b", scope)]
    nets = {}
    try:
        for h in ("a", "b"):
            pn = PodNetwork(scope, f"node-{h}", hostnet=in_netns(hosts[f"host-{h}"]),
                            bridge=bridge_name("unused", h), mode="vxlan",
                            public_ip=HOST_IPS[h])
            nets[h] = pn
            pn.set_nodes(nodes)
            pn.own_cidr = CIDRS[h]
            assert await pn.sync()
        dev_a = vtep_name(scope, "node-a")
        fdb, neigh, routes = entries(hosts["host-a"], dev_a)
        assert [(e["dst"]) for e in fdb] == [HOST_IPS["b"]]
        assert [(n["dst"], n["state"]) for n in neigh] == [("10.250.1.0", ["PERMANENT"])]
        assert [(r["dst"], r["gateway"], r["dev"]) for r in routes] == [
            (CIDRS["b"], "10.250.1.0", dev_a)]

        made = link(hosts["host-a"], dev_a)
        assert made["mtu"] == 1450 and made["linkinfo"]["info_data"]["local"] == HOST_IPS["a"]
        assert await nets["a"].sync(force=True)  # the kernel's device reads back as wanted:
        assert link(hosts["host-a"], dev_a)["ifindex"] == made["ifindex"]  # not made again

        before = tx_packets(hosts["host-a"], dev_a)
        await until(lambda: ping(hosts["pod-a"], POD_IPS["b"]), timeout=8, interval=0.2,
                    message="pod a pings pod b")
        assert tx_packets(hosts["host-a"], dev_a) > before  # it went through the tunnel
        assert ping(hosts["pod-b"], POD_IPS["a"])

        nets["a"].set_nodes([nodes[0]])  # node b leaves host a's view
        assert await nets["a"].sync()
        assert entries(hosts["host-a"], dev_a) == ([], [], [])
        assert not ping(hosts["pod-a"], POD_IPS["b"])

        for pn in nets.values():
            await pn.remove()
        links = sh("ip", "-n", hosts["host-a"], "-j", "link", "show", "type", "vxlan").stdout
        assert json.loads(links or "[]") == []
    finally:
        for pn in nets.values():
            await pn.stop()
