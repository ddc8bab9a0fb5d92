"""open_stream on Docker: an exec's stdin, stdout and stderr apart, the stdin close, the exit
code, a tty's size; attach to a container's main process (docker_session.py)."""

from __future__ import annotations

import asyncio

import pytest
from dockerfixtures import new_pod

from jetkube.services.kubelet.runtime import (
    STDERR,
    STDOUT,
    ContainerSpec,
    RuntimeError_,
    SandboxSpec,
    StreamSession,
)
from jetkube.services.kubelet.runtimes.docker import DockerRuntime


async def collect(session: StreamSession) -> dict[int, bytes]:
    out = {STDOUT: b"", STDERR: b""}
    async with asyncio.timeout(30):
        async for channel, data in session.output():
            out[channel] += data
    return out


async def sleeper(rt: DockerRuntime, image: str, name: str, **spec: object) -> str:
    sb = await rt.run_sandbox(SandboxSpec(new_pod(name), hostname=name))
    c = await rt.create_and_start(sb, ContainerSpec("app", image, **spec))  # type: ignore[arg-type]
    return c.id


async def test_exec_stdin_reaches_the_process_and_its_close_is_eof(
        docker_runtime: DockerRuntime, busybox_image: str) -> None:
    cid = await sleeper(docker_runtime, busybox_image, "cat", command=["sleep", "600"])
    s = await docker_runtime.open_stream(
        cid, ["sh", "-c", "wc -c; echo to-stderr >&2; exit 7"], stdin=True, tty=False)
    await s.write(b"a" * 200_000)
    await s.close_stdin()
    out = await collect(s)
    assert out[STDOUT].split() == [b"200000"]
    assert out[STDERR] == b"to-stderr\n"
    assert await s.exit_code() == 7
    await s.close()


async def test_exec_on_a_tty_sees_its_size_and_merges_output(
        docker_runtime: DockerRuntime, busybox_image: str) -> None:
    cid = await sleeper(docker_runtime, busybox_image, "tty", command=["sleep", "600"])
    s = await docker_runtime.open_stream(cid, ["sh"], stdin=True, tty=True)
    await s.resize(123, 45)
    await s.write(b"stty size; echo oops >&2; exit 2\n")
    out = await collect(s)
    assert b"45 123" in out[STDOUT] and b"oops" in out[STDOUT]
    assert out[STDERR] == b""
    assert await s.exit_code() == 2


async def test_attach_reaches_the_main_process(docker_runtime: DockerRuntime,
                                               busybox_image: str) -> None:
    cid = await sleeper(docker_runtime, busybox_image, "main", stdin=True,
                        command=["sh", "-c", "read x; echo got:$x; exit 3"])
    s = await docker_runtime.open_stream(cid, None, stdin=True, tty=False)
    await s.write(b"hello\n")
    out = await collect(s)
    assert out[STDOUT] == b"got:hello\n"
    assert await s.exit_code() == 3


async def test_a_missing_container_is_not_found(docker_runtime: DockerRuntime) -> None:
    with pytest.raises(RuntimeError_) as err:
        await docker_runtime.open_stream("0" * 64, ["true"], stdin=False, tty=False)
    assert err.value.reason == "NotFound"
