"""A restarted node agent finds its sandboxes and containers by label (and only
its own: several agents can share one daemon), and hears their exits."""

from __future__ import annotations

import asyncio
from typing import Any

from dockerfixtures import new_pod, node_name, remove_node_containers

from jetkube.services.kubelet.runtime import ContainerInfo, ContainerSpec, SandboxSpec
from jetkube.services.kubelet.runtimes.docker import DockerRuntime


async def test_a_new_runtime_adopts_what_the_old_one_started(
        docker_runtime: DockerRuntime, busybox_image: str, docker_client: Any) -> None:
    old = docker_runtime
    pod = new_pod("kept")
    sb = await old.run_sandbox(SandboxSpec(pod, hostname="kept"))
    app = await old.create_and_start(sb, ContainerSpec(
        "app", busybox_image, command=["sh", "-c", "read x; exit 5"], stdin=True, attempt=2))
    done = await old.create_and_start(sb, ContainerSpec("init", busybox_image, command=["true"]))
    other_node = node_name("other")
    other = DockerRuntime(other_node, scope=old.scope)
    try:
        osb = await other.run_sandbox(SandboxSpec(new_pod("theirs"), hostname="theirs"))
        await other.create_and_start(osb, ContainerSpec("c", busybox_image, command=["sleep", "60"]))
        await old.close()  # the agent dies; its containers live on

        new = DockerRuntime(old.node, scope=old.scope, root_dir=old.root_dir)
        try:
            heard: asyncio.Queue[ContainerInfo] = asyncio.Queue()
            new.on_exit(heard.put_nowait)
            sandboxes = await new.list_sandboxes()
            assert [(s.id, s.pod, s.ready) for s in sandboxes] == [(sb.id, pod, True)]
            assert sandboxes[0].ip == sb.ip
            found = {c.name: c for c in await new.list_containers()}
            assert set(found) == {"app", "init"}
            assert (found["app"].id, found["app"].attempt, found["app"].state) == (
                app.id, 2, "running")
            assert (found["init"].id, found["init"].state, found["init"].exit_code) == (
                done.id, "exited", 0)
            # an adopted container's exit reaches the new runtime's handlers
            sock = docker_client.api.attach_socket(app.id, params={"stdin": 1, "stream": 1})
            sock._sock.sendall(b"go\n")
            sock.close()
            info = await asyncio.wait_for(heard.get(), 15)
            assert (info.id, info.exit_code) == (app.id, 5)
        finally:
            await new.close()
        assert [s.pod.name for s in await other.list_sandboxes()] == ["theirs"]
    finally:
        await other.close()
        remove_node_containers(docker_client, other_node)
