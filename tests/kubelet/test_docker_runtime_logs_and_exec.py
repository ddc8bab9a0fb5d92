"""logs: stdout and stderr, tail, timestamps, and follow streaming lines as they
are written; exec: exit code and combined output, bounded in time."""

from __future__ import annotations

import asyncio
import re
import time

import pytest
from dockerfixtures import new_pod

from jetkube.services.kubelet.runtime import ContainerSpec, RuntimeError_, SandboxSpec
from jetkube.services.kubelet.runtimes.docker import DockerRuntime


async def test_logs_follow_streams_lines_as_they_come(docker_runtime: DockerRuntime,
                                                      busybox_image: str) -> None:
    rt = docker_runtime
    sb = await rt.run_sandbox(SandboxSpec(new_pod("talk"), hostname="talk"))
    c = await rt.create_and_start(sb, ContainerSpec("app", busybox_image, command=[
        "sh", "-c", "echo out-0; echo err-0 >&2; for i in 1 2 3; do sleep 0.4; echo out-$i; "
                    "done"]))
    got: list[tuple[float, bytes]] = []
    t0 = time.monotonic()
    async for chunk in rt.logs(c.id, follow=True):
        got.append((time.monotonic() - t0, chunk))
    text = b"".join(x for _, x in got)
    assert sorted(text.splitlines()) == [b"err-0", b"out-0", b"out-1", b"out-2", b"out-3"]
    first = next(t for t, x in got if b"out-1" in x)
    last = next(t for t, x in got if b"out-3" in x)
    assert last - first > 0.6  # delivered as written, not at the end
    assert (await rt.inspect(c.id)).state == "exited"  # follow ended with the container

    tail = b"".join([x async for x in rt.logs(c.id, tail=2)])
    assert tail == b"out-2\nout-3\n"
    stamped = b"".join([x async for x in rt.logs(c.id, tail=1, timestamps=True)])
    assert re.fullmatch(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z out-3\n", stamped), stamped


async def test_leaving_a_follow_early_closes_it(docker_runtime: DockerRuntime,
                                                busybox_image: str) -> None:
    rt = docker_runtime
    sb = await rt.run_sandbox(SandboxSpec(new_pod("loop"), hostname="loop"))
    c = await rt.create_and_start(sb, ContainerSpec("app", busybox_image, command=[
        "sh", "-c", "while :; do echo tick; sleep 0.1; done"]))
    stream = rt.logs(c.id, follow=True)
    n = 0
    async for _ in stream:
        n += 1
        if n == 3:
            break
    await stream.aclose()  # type: ignore[attr-defined]
    assert (await rt.inspect(c.id)).state == "running"
    with pytest.raises(RuntimeError_) as err:
        async for _ in rt.logs("0" * 64):
            pass
    assert err.value.reason == "NotFound"


async def test_exec_returns_exit_code_and_output(docker_runtime: DockerRuntime,
                                                 busybox_image: str) -> None:
    rt = docker_runtime
    sb = await rt.run_sandbox(SandboxSpec(new_pod("ex"), hostname="ex"))
    c = await rt.create_and_start(sb, ContainerSpec("app", busybox_image,
                                                    command=["sleep", "60"], env={"K": "v"}))
    code, out = await rt.exec(c.id, ["sh", "-c", "echo $K; echo oops >&2; exit 42"])
    assert code == 42 and sorted(out.splitlines()) == [b"oops", b"v"]
    code, out = await rt.exec(c.id, ["cat", "/no/such/file"])
    assert code == 1 and b"No such file" in out
    big_code, big = await rt.exec(c.id, ["sh", "-c", "seq 200000"])
    assert big_code == 0 and big.endswith(b"199999\n200000\n") and len(big) > 1_000_000
    t0 = time.monotonic()
    with pytest.raises(TimeoutError):
        await rt.exec(c.id, ["sleep", "30"], limit_s=0.5)
    assert time.monotonic() - t0 < 3
    await rt.stop_container(c.id, 0)
    with pytest.raises(RuntimeError_):
        await rt.exec(c.id, ["true"])
    await asyncio.sleep(0)
