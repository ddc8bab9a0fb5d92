"""Exits arrive from the docker event stream (no polling) with their codes and
reasons; stop sends SIGTERM and SIGKILLs after the grace period."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from dockerfixtures import new_pod
from polling import until

from jetkube.services.kubelet.runtime import ContainerInfo, ContainerSpec, SandboxSpec
from jetkube.services.kubelet.runtimes.docker import DockerRuntime


async def test_exit_codes_arrive_through_on_exit(docker_runtime: DockerRuntime,
                                                 busybox_image: str) -> None:
    rt = docker_runtime
    heard: asyncio.Queue[ContainerInfo] = asyncio.Queue()
    rt.on_exit(heard.put_nowait)
    sb = await rt.run_sandbox(SandboxSpec(new_pod("jobs"), hostname="jobs"))
    ok = await rt.create_and_start(sb, ContainerSpec("ok", busybox_image, command=["true"]))
    bad = await rt.create_and_start(sb, ContainerSpec(
        "bad", busybox_image, command=["sh", "-c", "sleep 0.2; exit 3"], attempt=4))
    got = {}
    for _ in range(2):
        info = await asyncio.wait_for(heard.get(), 15)
        got[info.name] = info
    assert (got["ok"].id, got["ok"].exit_code, got["ok"].reason) == (ok.id, 0, "Completed")
    assert (got["bad"].id, got["bad"].exit_code, got["bad"].reason) == (bad.id, 3, "Error")
    assert got["bad"].attempt == 4 and got["bad"].state == "exited"
    assert got["bad"].started_at and got["bad"].finished_at and got["bad"].pod == sb.pod
    assert heard.empty()  # the sandbox is not reported as a container


async def test_an_async_handler_is_awaited_and_a_failing_one_does_not_stop_others(
        docker_runtime: DockerRuntime, busybox_image: str) -> None:
    rt = docker_runtime
    seen: list[str] = []
    done = asyncio.Event()

    def broken(info: ContainerInfo) -> None:
        raise RuntimeError("handler bug")

    async def slow(info: ContainerInfo) -> None:
        await asyncio.sleep(0.05)
        seen.append(info.name)
        done.set()

    rt.on_exit(broken)
    rt.on_exit(slow)
    sb = await rt.run_sandbox(SandboxSpec(new_pod("h"), hostname="h"))
    await rt.create_and_start(sb, ContainerSpec("one", busybox_image, command=["true"]))
    await asyncio.wait_for(done.wait(), 15)
    assert seen == ["one"]


async def test_stop_honours_sigterm_or_kills_after_the_grace(
        docker_runtime: DockerRuntime, busybox_image: str, docker_client: Any) -> None:
    rt = docker_runtime
    sb = await rt.run_sandbox(SandboxSpec(new_pod("stop"), hostname="stop"))
    polite = await rt.create_and_start(sb, ContainerSpec(
        "polite", busybox_image,
        command=["sh", "-c", "trap 'echo bye; exit 0' TERM; while :; do sleep 0.1; done"]))
    stubborn = await rt.create_and_start(sb, ContainerSpec(
        "stubborn", busybox_image, command=["sh", "-c", "trap '' TERM; sleep 60 & wait"]))
    def sleeping(cid: str) -> bool:  # each shell starts `sleep` only after its trap line
        return any("sleep" in " ".join(p) for p in docker_client.containers.get(cid).top()["Processes"])
    await until(lambda: asyncio.to_thread(lambda: sleeping(polite.id) and sleeping(stubborn.id)),
                timeout=15, interval=0.05, message="both shells past their trap line")
    t0 = time.monotonic()
    await rt.stop_container(polite.id, 10)
    assert time.monotonic() - t0 < 5
    info = await rt.inspect(polite.id)
    assert (info.state, info.exit_code) == ("exited", 0)
    t0 = time.monotonic()
    await rt.stop_container(stubborn.id, 2)
    took = time.monotonic() - t0
    info = await rt.inspect(stubborn.id)
    assert (info.state, info.exit_code) == ("exited", 137)
    assert 1.5 < took < 8, took
    await rt.stop_container(stubborn.id, 2)  # stopping twice is fine
    await rt.remove_container(stubborn.id)
    await rt.remove_container(stubborn.id)  # so is removing twice
    await rt.remove_sandbox(sb.id)  # takes what is left of the pod with it
    left = docker_client.api.containers(all=True, filters={"label": f"io.jetkube.node={rt.node}"})
    assert left == []


async def test_a_container_that_cannot_start_is_a_run_container_error(
        docker_runtime: DockerRuntime, busybox_image: str) -> None:
    from jetkube.services.kubelet.runtime import RuntimeError_

    rt = docker_runtime
    sb = await rt.run_sandbox(SandboxSpec(new_pod("bad"), hostname="bad"))
    try:
        await rt.create_and_start(sb, ContainerSpec("x", busybox_image, command=["/no/such"]))
    except RuntimeError_ as err:
        assert err.reason == "RunContainerError" and "/no/such" in err.message
    else:
        raise AssertionError("expected RunContainerError")
    assert [c.name for c in await rt.list_containers()] == []
