"""On its node's pod network the node agent chooses each sandbox's address (docker_ipam.py),
so a pod of a known image costs the Docker daemon four Engine API calls, as ``docker run
-d`` twice does: no inspect to learn what Docker's IPAM chose.  The address is the one
Docker gave the sandbox; a restarted runtime holds the addresses of the pods it adopts;
an address that something the agent did not make holds (Docker refuses it) is skipped;
a removed pod's address is handed out again only after the others.

Needs root (the pod network's iptables chain and routes)."""

from __future__ import annotations

import asyncio
import ipaddress
import random
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import docker
import pytest
from _dockercalls import CallCounter
from dockerfixtures import new_pod, new_scope, node_name, purge

from jetkube.services.kubelet.runtime import ContainerSpec, Sandbox, SandboxSpec
from jetkube.services.kubelet.runtimes import docker_convert as conv
from jetkube.services.kubelet.runtimes.docker import DockerRuntime
from jetkube.services.machinery.hostnet import missing_privileges

pytestmark = pytest.mark.skipif(missing_privileges() is not None,
                                reason=f"pod network: {missing_privileges()}")

CREATE, START = "POST /containers/create", "POST /containers/{id}/start"


async def test_a_pod_on_the_pod_network_takes_four_calls_on_an_address_the_agent_chose(
        docker_client: Any, busybox_image: str, tmp_path: Path) -> None:
    scope, node = new_scope(), node_name()
    cidr = f"10.{random.randint(200, 250)}.{random.randint(4, 250)}.0/24"
    net = ipaddress.ip_network(cidr)
    counter = CallCounter()
    client = docker.from_env(timeout=30)
    counter.wrap(client.api)
    rt = DockerRuntime(node, client=client, scope=scope, root_dir=tmp_path / "a")
    again: DockerRuntime | None = None

    async def start(r: DockerRuntime, name: str) -> Sandbox:
        sb = await r.run_sandbox(SandboxSpec(new_pod(name), hostname=name))
        await r.create_and_start(sb, ContainerSpec("c", busybox_image,
                                                   command=["sleep", "60"], attempt=1))
        return sb

    try:
        rt.set_pod_cidr(cidr)
        await rt.ensure_image(busybox_image, "IfNotPresent")
        first = await start(rt, "first")  # also makes the network and checks the pause image
        before = counter.snapshot()
        second = await start(rt, "second")
        assert counter.since(before) == Counter({CREATE: 2, START: 2})  # no inspect
        for sb in (first, second):  # the address asked for is the one Docker gave
            assert sb == conv.sandbox_of(docker_client.api.inspect_container(sb.id))
            assert ipaddress.ip_address(sb.ip) in net
        assert [first.ip, second.ip] == [str(net.network_address + 2),
                                         str(net.network_address + 3)]

        # something the agent did not make holds the next address: Docker refuses it,
        # the sandbox takes the one after
        squatter = docker_client.api.create_container(
            busybox_image, ["sleep", "60"], name=f"squatter-{uuid.uuid4().hex[:6]}",
            labels={"io.jetkube.scope": scope},
            host_config=docker_client.api.create_host_config(network_mode=rt.network.name),
            networking_config=docker_client.api.create_networking_config({
                rt.network.name: docker_client.api.create_endpoint_config(
                    ipv4_address=str(net.network_address + 4))}))["Id"]
        docker_client.api.start(squatter)
        third = await start(rt, "third")
        assert third.ip == str(net.network_address + 5)
        assert third == conv.sandbox_of(docker_client.api.inspect_container(third.id))

        # a removed pod's address comes back only after the rest
        await rt.remove_sandbox(first.id)
        fourth = await start(rt, "fourth")
        assert fourth.ip == str(net.network_address + 6)

        # a restarted runtime holds what its adopted pods and the squatter have
        await rt.close()
        again = DockerRuntime(node, scope=scope, root_dir=tmp_path / "a")
        assert sorted(s.ip for s in await again.list_sandboxes()) == sorted(
            [second.ip, third.ip, fourth.ip])
        again.set_pod_cidr(cidr)
        fifth = await start(again, "fifth")
        assert fifth.ip == str(net.network_address + 2)  # .2 is free again; .3-.6 held
        assert again.network.addresses is not None
        for ip in (second.ip, third.ip, fourth.ip, str(net.network_address + 4)):
            assert ip in again.network.addresses
    finally:
        await rt.close()
        if again is not None:
            await again.close()
        await asyncio.to_thread(purge, docker_client, scope)
        client.close()
