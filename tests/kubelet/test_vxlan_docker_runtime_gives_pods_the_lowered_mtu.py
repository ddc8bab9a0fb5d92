"""The Docker runtime under ``--pod-network vxlan`` on this machine's Docker: the node's
VTEP is made on its node IP, another machine's Node gets its FDB/neighbour/route
entries, the pods' network and the pods' eth0 carry the node IP's link MTU less 50, and
closing the runtime's last pod takes the VTEP and its routes away (purge finds none).

Needs root and Docker; podCIDRs are 10.<random 200-250>.{1,2}.0/24.
"""

from __future__ import annotations

import asyncio
import json
import random
import subprocess
from pathlib import Path
from typing import Any

import pytest
from dockerfixtures import new_pod, new_scope, purge

from jetkube.services.kubelet.podnet import network_name
from jetkube.services.kubelet.podnet_vxlan import node_annotations, vtep_name
from jetkube.services.kubelet.runtime import SandboxSpec
from jetkube.services.kubelet.runtimes.docker import DockerRuntime
from jetkube.services.kubelet.runtimes.docker_network import OPT_MTU
from jetkube.services.machinery.hostnet import missing_privileges

pytestmark = pytest.mark.skipif(missing_privileges() is not None,
                                reason=f"pod network: {missing_privileges()}")


def ip_json(*argv: str) -> list[dict[str, Any]]:
    out = subprocess.run(["ip", "-j", *argv], capture_output=True, text=True, check=True)
    return list(json.loads(out.stdout or "[]"))


def node_ip_and_mtu() -> tuple[str, int]:
    """A non-loopback IPv4 address of this machine and its link's MTU."""
    for link in ip_json("-4", "addr", "show"):
        for a in link.get("addr_info") or ():
            if not a["local"].startswith("127."):
                return a["local"], int(link["mtu"])
    pytest.skip("this machine has no non-loopback IPv4 address")


def vx_node(scope: str, name: str, cidr: str, ip: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "annotations": node_annotations(scope, name, ip)},
            "spec": {"podCIDR": cidr, "podCIDRs": [cidr]},
            "status": {"addresses": [{"type": "InternalIP", "address": ip}]}}


async def test_vxlan_pods_get_the_tunnel_mtu_and_the_vtep_goes_with_the_last_pod(
        docker_client: Any, busybox_image: str, tmp_path: Path) -> None:
    scope, second = new_scope(), random.randint(200, 250)
    mine, far = f"10.{second}.1.0/24", f"10.{second}.2.0/24"
    ip, mtu = node_ip_and_mtu()
    rt = DockerRuntime("node-a", scope=scope, root_dir=tmp_path, pod_network="vxlan",
                       node_ip=ip)
    dev = vtep_name(scope, "node-a")
    try:
        assert rt.node_annotations() == node_annotations(scope, "node-a", ip)
        assert rt.network.host is not None
        # node-b is "another machine" at an address nothing answers: entries, no traffic
        rt.network.host.set_nodes([vx_node(scope, "node-a", mine, ip),
                                   vx_node(scope, "node-b", far, "172.31.254.77")])
        rt.set_pod_cidr(mine)
        sb = await rt.run_sandbox(SandboxSpec(new_pod("web"), hostname="web"))
        await asyncio.wait_for(rt.network.host.synced.wait(), 15)

        [link] = ip_json("-d", "link", "show", "dev", dev)
        assert link["mtu"] == mtu - 50 and link["linkinfo"]["info_data"]["local"] == ip
        routes = [r for r in ip_json("-4", "route", "show", "proto", "74")
                  if r.get("dev") == dev]
        assert [(r["dst"], r["gateway"]) for r in routes] == [(far, f"10.{second}.2.0")]

        net = docker_client.api.inspect_network(network_name(scope, "node-a"))
        assert net["Options"][OPT_MTU] == str(mtu - 50)
        code, out = await rt.exec(sb.id, ["cat", "/sys/class/net/eth0/mtu"])
        assert (code, out.decode().strip()) == (0, str(mtu - 50))

        await rt.remove_sandbox(sb.id)
        await rt.close()  # the node's last pod went: its VTEP and routes go too
        assert not [lk for lk in ip_json("link", "show", "type", "vxlan")
                    if lk["ifname"] == dev]
        assert not [r for r in ip_json("-4", "route", "show", "proto", "74")
                    if r["dst"] == far and r.get("dev") == dev]
    finally:
        await rt.close()
        gone = await asyncio.to_thread(purge, docker_client, scope)
    assert gone["vxlan devices"] == []  # nothing was left for the clean-up
