"""The pod network on real Docker: two node agents' runtimes share this machine and
its daemon; each node's pods get addresses from its podCIDR, a pod on one node fetches
a page from a pod on the other by pod IP, what a pod sends elsewhere is dropped, the
pod's resolv.conf is what its containers see, a restarted runtime reads the same pod
IPs, and clean-up leaves no network, chain or route behind.

Needs root (iptables, routes); podCIDRs are 10.<random 200-250>.{1,2,3}.0/24 so a
concurrent run on this machine never collides.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import random
import subprocess
from pathlib import Path
from typing import Any

import pytest
from dockerfixtures import new_pod, new_scope, purge
from polling import until

from jetkube.services.kubelet.podnet import chain_name, network_name
from jetkube.services.kubelet.runtime import ContainerInfo, ContainerSpec, SandboxSpec
from jetkube.services.kubelet.runtimes.docker import DockerRuntime
from jetkube.services.machinery.hostnet import missing_privileges

pytestmark = pytest.mark.skipif(missing_privileges() is not None,
                                reason=f"pod network: {missing_privileges()}")


def node(name: str, cidr: str, ip: str = "127.0.0.1") -> dict[str, Any]:
    return {"metadata": {"name": name}, "spec": {"podCIDR": cidr, "podCIDRs": [cidr]},
            "status": {"addresses": [{"type": "InternalIP", "address": ip}]}}


async def exited(rt: DockerRuntime, cid: str, within: float = 30) -> ContainerInfo:
    return await until(lambda: rt.inspect(cid), timeout=within, interval=0.1,
                       accept=lambda info: info.state == "exited", message=f"container {cid} exited")


def stdout(client: Any, cid: str) -> str:
    """Only stdout (the shell's "Terminated" about a timed-out wget goes to stderr)."""
    return bytes(client.api.logs(cid, stdout=True, stderr=False)).decode()


def chains() -> str:
    return subprocess.run(["iptables", "-w", "5", "-S"], capture_output=True, text=True,
                          check=True).stdout


def routes() -> list[dict[str, Any]]:
    out = subprocess.run(["ip", "-j", "-4", "route", "show", "proto", "74"],
                         capture_output=True, text=True, check=True).stdout
    return list(json.loads(out or "[]"))


async def test_pods_on_two_nodes_reach_each_other_by_pod_ip(
        docker_client: Any, busybox_image: str, tmp_path: Path) -> None:
    scope, second = new_scope(), random.randint(200, 250)
    cidr_a, cidr_b, cidr_c = (f"10.{second}.{i}.0/24" for i in (1, 2, 3))
    a = DockerRuntime("node-a", scope=scope, root_dir=tmp_path / "a")
    b = DockerRuntime("node-b", scope=scope, root_dir=tmp_path / "b")
    outsider = None
    try:
        # a container on Docker's default bridge, which pods must not reach; it also
        # plays a node on "another machine" (an address that is not local here)
        outsider = docker_client.containers.run(
            busybox_image, ["sh", "-c", "mkdir /www && echo outside > /www/index.html && "
                                        "exec httpd -f -p 8080 -h /www"],
            detach=True, labels={"io.jetkube.scope": scope})
        outsider.reload()
        outsider_ip = outsider.attrs["NetworkSettings"]["IPAddress"]
        nodes = [node("node-a", cidr_a), node("node-b", cidr_b),
                 node("node-c", cidr_c, outsider_ip)]
        for rt, cidr in ((a, cidr_a), (b, cidr_b)):
            assert rt.network.host is not None
            rt.network.host.set_nodes(nodes)
            rt.set_pod_cidr(cidr)

        def spec(name: str) -> SandboxSpec:  # DNS as the core resolves ClusterFirst
            return SandboxSpec(new_pod(name), hostname=name, dns_servers=["10.96.0.10"],
                               dns_search=["default.svc.cluster.local", "svc.cluster.local",
                                           "cluster.local"], dns_options=["ndots:5"])

        web = await a.run_sandbox(spec("web"))
        assert ipaddress.ip_address(web.ip) in ipaddress.ip_network(cidr_a), web.ip
        assert web.ip != str(ipaddress.ip_network(cidr_a).network_address + 1)  # the gateway
        await a.create_and_start(web, ContainerSpec("httpd", busybox_image, command=["sh", "-c"],
                                                    args=["mkdir /www && hostname > "
                                                          "/www/index.html && exec httpd -f "
                                                          "-p 8080 -h /www"]))

        client = await b.run_sandbox(spec("client"))
        assert ipaddress.ip_address(client.ip) in ipaddress.ip_network(cidr_b), client.ip
        for rt in (a, b):
            assert rt.network.host is not None
            await asyncio.wait_for(rt.network.host.synced.wait(), 15)
        script = (f"for i in $(seq 50); do timeout 3 wget -qO- http://{web.ip}:8080/ && break; "
                  "sleep 0.2; done; echo ---; "
                  f"(timeout 3 wget -qO- http://{outsider_ip}:8080/) 2>/dev/null "
                  "|| echo outsider-unreachable; echo ---; cat /etc/resolv.conf")
        got = await b.create_and_start(client, ContainerSpec("wget", busybox_image,
                                                             command=["sh", "-c", script]))
        assert (await exited(b, got.id)).exit_code == 0
        page, outside, resolv = stdout(docker_client, got.id).split("---\n")
        assert page == "web\n"  # node A's pod answered node B's pod, by pod IP
        assert outside == "outsider-unreachable\n"  # the forward chain dropped it
        assert resolv == ("nameserver 10.96.0.10\n"
                          "search default.svc.cluster.local svc.cluster.local cluster.local\n"
                          "options ndots:5\n")
        # the sandbox itself sees the same file (the pause image is busybox)
        code, seen = await a.exec(web.id, ["cat", "/etc/resolv.conf"])
        assert (code, seen.decode()) == (0, resolv)

        # the network as asked: podCIDR, gateway, no masquerade, named bridge
        netinfo = docker_client.api.inspect_network(network_name(scope, "node-a"))
        assert netinfo["IPAM"]["Config"][0]["Subnet"] == cidr_a
        assert netinfo["IPAM"]["Config"][0]["Gateway"] == f"10.{second}.1.1"
        assert netinfo["Options"]["com.docker.network.bridge.enable_ip_masquerade"] == "false"
        assert netinfo["Options"]["com.docker.network.bridge.name"] == a.network.bridge
        # node-c is on "another machine": a route to its pods through its address
        mine = {(r["dst"], r.get("gateway")) for r in routes()
                if r.get("metric") in (a.network.host.metric, b.network.host.metric)}  # type: ignore[union-attr]
        assert mine == {(cidr_c, outsider_ip)}

        # a restarted runtime reads the same pod IP (adoption)
        await a.close()  # containers remain: the network, chain and route stay
        assert chain_name(scope, "node-a") in chains()
        again = DockerRuntime("node-a", scope=scope, root_dir=tmp_path / "a")
        try:
            assert [s.ip for s in await again.list_sandboxes()] == [web.ip]
        finally:
            await again.close()

        # the last pod of node B goes: close() removes B's network, chain and route
        await b.remove_sandbox(client.id)
        assert not (tmp_path / "b" / "pods" / client.pod.uid / "resolv.conf").exists()
        await b.close()
        assert chain_name(scope, "node-b") not in chains()
        assert not docker_client.api.networks(names=[network_name(scope, "node-b")])
        assert all(r.get("metric") != b.network.host.metric for r in routes())  # type: ignore[union-attr]
    finally:
        await a.close()
        await b.close()
        gone = await asyncio.to_thread(purge, docker_client, scope)
    assert network_name(scope, "node-a") in gone["networks"]
    assert chain_name(scope, "node-a") in gone["chains"] and cidr_c in gone["routes"]
    assert scope not in json.dumps(docker_client.api.networks())
    assert chain_name(scope, "node-a") not in chains()
    assert not docker_client.api.containers(all=True, filters={
        "label": f"io.jetkube.scope={scope}"})


async def test_without_a_pod_cidr_sandboxes_stay_on_the_default_bridge(
        docker_client: Any, busybox_image: str, tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    scope = new_scope()
    rt = DockerRuntime("lonely", scope=scope, root_dir=tmp_path)
    try:
        sb = await rt.run_sandbox(SandboxSpec(new_pod("early"), hostname="early"))
        attrs = docker_client.api.inspect_container(sb.id)
        assert attrs["HostConfig"]["NetworkMode"] == "bridge" and sb.ip
        assert "has no podCIDR yet" in caplog.text
        none = DockerRuntime("plain", scope=scope, pod_network="none", root_dir=tmp_path)
        none.set_pod_cidr("10.250.250.0/24")  # ignored: no pod network asked for
        sb2 = await none.run_sandbox(SandboxSpec(new_pod("plain"), hostname="plain"))
        assert docker_client.api.inspect_container(sb2.id)["HostConfig"]["NetworkMode"] == \
            "bridge"
        await none.close()
    finally:
        await rt.close()
        await asyncio.to_thread(purge, docker_client, scope)
