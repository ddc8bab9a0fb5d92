"""On its node's pod network the node agent wires each sandbox itself, as CNI's bridge
plugin does (docker_wiring.py): the sandbox starts with no network of Docker's, on an
address the agent chose (docker_ipam.py), and gets a veth on the node's bridge, the
address, a default route through the gateway and the pod's /etc/hosts.  A pod of a known
image costs the daemon five Engine API calls (``docker run -d`` twice is four; the fifth
is the sandbox's inspect for its PID).  A removed pod's address is handed out again only
after the others, and its veth goes with it; a restarted runtime reads its pods'
addresses back and never hands them out.

Needs root (veths, the pod network's iptables chain and routes)."""

from __future__ import annotations

import asyncio
import ipaddress
import random
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import docker
import pytest
from _dockercalls import CallCounter
from dockerfixtures import new_pod, new_scope, node_name, purge
from polling import wait_until

from jetkube.services.kubelet.runtime import ContainerSpec, Sandbox, SandboxSpec
from jetkube.services.kubelet.runtimes import docker_convert as conv
from jetkube.services.kubelet.runtimes.docker import DockerRuntime
from jetkube.services.kubelet.runtimes.docker_wiring import veth_name
from jetkube.services.machinery.hostnet import missing_privileges

pytestmark = pytest.mark.skipif(missing_privileges() is not None,
                                reason=f"pod network: {missing_privileges()}")

CREATE, START = "POST /containers/create", "POST /containers/{id}/start"
INSPECT = "GET /containers/{id}/json"


def link_exists(name: str) -> bool:
    return subprocess.run(["ip", "link", "show", name], capture_output=True).returncode == 0


async def test_the_agent_wires_its_pods_on_addresses_it_chose(
        docker_client: Any, busybox_image: str, tmp_path: Path) -> None:
    scope, node = new_scope(), node_name()
    cidr = f"10.{random.randint(200, 250)}.{random.randint(4, 250)}.0/24"
    net = ipaddress.ip_network(cidr)
    at = [str(net.network_address + i) for i in range(8)]  # at[1] is the gateway
    counter = CallCounter()
    client = docker.from_env(timeout=30)
    counter.wrap(client.api)
    rt = DockerRuntime(node, client=client, scope=scope, root_dir=tmp_path / "a",
                       engine=counter.engine_of(client.api))
    again: DockerRuntime | None = None

    async def start(r: DockerRuntime, name: str) -> tuple[Sandbox, str]:
        sb = await r.run_sandbox(SandboxSpec(new_pod(name), hostname=name))
        info = await r.create_and_start(sb, ContainerSpec("c", busybox_image,
                                                          command=["sleep", "60"], attempt=1))
        return sb, info.id

    try:
        rt.set_pod_cidr(cidr)
        await rt.ensure_image(busybox_image, "IfNotPresent")
        first, _ = await start(rt, "first")  # also makes the network, checks the pause image
        before = counter.snapshot()
        second, app = await start(rt, "second")
        assert counter.since(before) == Counter({CREATE: 2, START: 2, INSPECT: 1})
        assert [first.ip, second.ip] == at[2:4]  # round-robin after the gateway
        attrs = docker_client.api.inspect_container(second.id)
        assert attrs["HostConfig"]["NetworkMode"] == "none"  # no network of Docker's
        assert second == conv.sandbox_of(attrs)  # (its address read back from its label)

        # what the pod's container sees: its address on eth0, the route, its hosts file
        code, out = await rt.exec(app, ["sh", "-c", "ip -4 -o addr show dev eth0; ip route; "
                                                   "tail -n 1 /etc/hosts"])
        seen = out.decode()
        assert code == 0, seen
        assert f"inet {second.ip}/{net.prefixlen}" in seen
        assert f"default via {at[1]} dev eth0" in seen
        assert seen.endswith(f"{second.ip}\tsecond\n")
        # and it reaches the other pod through the node's bridge
        code, out = await rt.exec(app, ["ping", "-c", "1", "-W", "2", first.ip])
        assert code == 0, out.decode()
        assert link_exists(veth_name(second.id))

        # a removed pod's address comes back only after the rest; its veth is gone
        await rt.remove_sandbox(first.id)
        # (the kernel tears a namespace's links down after the last process left it)
        wait_until(lambda: not link_exists(veth_name(first.id)), timeout=10,
                   message="the removed pod's veth gone")
        third, _ = await start(rt, "third")
        assert third.ip == at[4]

        # a restarted runtime reads its pods' addresses back and holds them
        await rt.close()
        again = DockerRuntime(node, scope=scope, root_dir=tmp_path / "a")
        assert sorted(s.ip for s in await again.list_sandboxes()) == sorted(
            [second.ip, third.ip])
        again.set_pod_cidr(cidr)
        fourth, _ = await start(again, "fourth")
        assert fourth.ip == at[2]  # free again; .3 and .4 held
        assert again.network.addresses is not None
        assert second.ip in again.network.addresses and third.ip in again.network.addresses
    finally:
        await rt.close()
        if again is not None:
            await again.close()
        await asyncio.to_thread(purge, docker_client, scope)
        client.close()


async def test_an_agent_that_cannot_wire_leaves_its_pods_to_the_docker_network(
        docker_client: Any, busybox_image: str, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    from jetkube.services.kubelet.runtimes import docker_network

    # as in a container without the daemon's PID namespace: the sandbox's PID names
    # nothing (or another process) here
    monkeypatch.setattr(docker_network, "own_process", lambda pid, cid: False)
    scope = new_scope()
    cidr = f"10.{random.randint(200, 250)}.{random.randint(4, 250)}.0/24"
    rt = DockerRuntime(node_name(), scope=scope, root_dir=tmp_path)
    try:
        rt.set_pod_cidr(cidr)
        sb = await rt.run_sandbox(SandboxSpec(new_pod("fallback"), hostname="fallback"))
        attrs = docker_client.api.inspect_container(sb.id)
        assert attrs["HostConfig"]["NetworkMode"] == rt.network.name  # Docker's network
        assert ipaddress.ip_address(sb.ip) in ipaddress.ip_network(cidr)
        assert "cannot wire pods itself" in caplog.text and "not visible here" in caplog.text
        # the sandbox tried first is gone, and its address is free
        assert len(docker_client.api.containers(all=True, filters={
            "label": f"io.jetkube.scope={scope}"})) == 1
        assert rt.network.addresses is not None and len(rt.network.addresses) == 0
        assert rt.network.addresses_for(rt.network.name) is None  # not tried again
    finally:
        await rt.close()
        await asyncio.to_thread(purge, docker_client, scope)
