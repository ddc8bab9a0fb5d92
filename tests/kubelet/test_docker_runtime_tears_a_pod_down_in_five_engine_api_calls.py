"""Tearing a pod down as the node agent does (stop its container, read how it ended, hear
its exit, remove the container and the sandbox) costs the Docker daemon five Engine API
calls: the stop, the agent's inspect after it, the container's removal, and the sandbox's
list of its pod's containers and removal.  The ``die`` event needs no inspect for a
container the runtime started (the event carries the exit code and time), and the sandbox's
pod is known without one; what ``on_exit`` hears is what an inspect says.  A SIGKILLed
container (137: the OOM killer's mark is only in an inspect) is inspected.  One event
stream serves the exits and the image ids."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from _dockercalls import CallCounter
from dockerfixtures import counted_docker_runtime, new_pod
from polling import until

from jetkube.schemas import parse_time
from jetkube.services.kubelet.runtime import ContainerInfo, ContainerSpec, Sandbox, SandboxSpec
from jetkube.services.kubelet.runtimes.docker import DockerRuntime

STOP, INSPECT = "POST /containers/{id}/stop", "GET /containers/{id}/json"
LIST, DELETE, EVENTS = "GET /containers/json", "DELETE /containers/{id}", "GET /events"
POLITE = ["sh", "-c", "trap 'exit 0' TERM; sleep 600 & wait"]


@pytest.fixture(name="counted")
async def counted_fixture(docker_client: Any, busybox_image: str,
                          tmp_path: Path) -> AsyncIterator[tuple[DockerRuntime, CallCounter]]:
    async with counted_docker_runtime(docker_client, tmp_path / "rt") as pair:
        yield pair


async def started_pod(rt: DockerRuntime, image: str, command: list[str], docker_client: Any
                      ) -> tuple[Sandbox, ContainerInfo]:
    """A one-container pod as the pod worker starts it, its shell past its first line."""
    pod = new_pod(f"t-{uuid.uuid4().hex[:6]}")
    await rt.ensure_image(image, "IfNotPresent")
    sb = await rt.run_sandbox(SandboxSpec(pod, hostname=pod.name))
    info = await rt.create_and_start(sb, ContainerSpec("c", image, command=command, attempt=1))

    def sleeping() -> bool:
        return any("sleep" in " ".join(p)
                   for p in docker_client.containers.get(info.id).top()["Processes"])

    await until(lambda: asyncio.to_thread(sleeping), timeout=15, interval=0.05,
                message="the container's sleep running")
    return sb, info


def same_second(a: str | None, b: str | None) -> bool:
    ta, tb = parse_time(a), parse_time(b)
    return ta is not None and tb is not None and abs((ta - tb).total_seconds()) <= 1


async def test_a_pod_is_torn_down_in_five_calls_and_its_exit_heard_without_an_inspect(
        counted: tuple[DockerRuntime, CallCounter], busybox_image: str,
        docker_client: Any) -> None:
    rt, counter = counted
    heard: asyncio.Queue[ContainerInfo] = asyncio.Queue()
    rt.on_exit(heard.put_nowait)
    sb, c = await started_pod(rt, busybox_image, POLITE, docker_client)
    before = counter.snapshot()
    await rt.stop_container(c.id, 10)
    inspected = await rt.inspect(c.id)  # what the pod worker reads after the stop
    exit_ = await asyncio.wait_for(heard.get(), 15)
    await rt.remove_container(c.id)
    await rt.remove_sandbox(sb.id)
    assert counter.since(before) == Counter({STOP: 1, INSPECT: 1, DELETE: 2, LIST: 1})

    assert (exit_.state, exit_.exit_code, exit_.reason) == ("exited", 0, "Completed")
    assert same_second(exit_.started_at, inspected.started_at)
    assert same_second(exit_.finished_at, inspected.finished_at)
    times = {"started_at": None, "finished_at": None}
    assert dataclasses.replace(exit_, **times) == dataclasses.replace(inspected, **times)
    assert docker_client.api.containers(all=True, filters={"id": sb.id}) == []
    assert counter.snapshot()[EVENTS] == 1 and heard.empty()


async def test_a_sigkilled_containers_exit_is_read_by_an_inspect(
        counted: tuple[DockerRuntime, CallCounter], busybox_image: str,
        docker_client: Any) -> None:
    rt, counter = counted
    heard: asyncio.Queue[ContainerInfo] = asyncio.Queue()
    rt.on_exit(heard.put_nowait)
    _, c = await started_pod(rt, busybox_image, ["sleep", "600"], docker_client)  # PID 1:
    before = counter.snapshot()  # SIGTERM does nothing, so the stop ends in SIGKILL
    await rt.stop_container(c.id, 0)
    exit_ = await asyncio.wait_for(heard.get(), 15)
    assert (exit_.exit_code, exit_.reason, exit_.id) == (137, "Error", c.id)
    assert exit_.finished_at is not None
    assert counter.since(before) == Counter({STOP: 1, INSPECT: 1})
