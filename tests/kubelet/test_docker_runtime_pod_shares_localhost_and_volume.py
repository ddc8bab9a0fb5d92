"""A pod on the Docker runtime: sandbox + containers sharing localhost, a volume,
the hostname; env, working dir, user and the resource limits reach the containers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dockerfixtures import new_pod
from polling import until

from jetkube.services.kubelet.runtime import (
    LABEL_ATTEMPT,
    LABEL_CONTAINER,
    LABEL_KIND,
    LABEL_NODE,
    LABEL_POD_UID,
    ContainerInfo,
    ContainerSpec,
    Mount,
    SandboxSpec,
)
from jetkube.services.kubelet.runtimes.docker import DockerRuntime


async def _exited(rt: DockerRuntime, cid: str, within: float = 20) -> ContainerInfo:
    return await until(lambda: rt.inspect(cid), timeout=within, interval=0.1,
                       accept=lambda info: info.state == "exited", message=f"container {cid} exited")


async def test_two_containers_share_localhost_hostname_and_an_empty_dir(
        docker_runtime: DockerRuntime, busybox_image: str, docker_client: Any,
        tmp_path: Path) -> None:
    rt = docker_runtime
    pod = new_pod("web")
    volume = tmp_path / "scratch"  # the emptyDir the core would prepare
    volume.mkdir()
    volume.chmod(0o777)  # as the kubelet makes an emptyDir
    sb = await rt.run_sandbox(SandboxSpec(pod, hostname="web-host"))
    assert sb.ip and sb.ready and sb.pod == pod
    server = await rt.create_and_start(sb, ContainerSpec(
        "server", busybox_image, command=["sh", "-c"],
        args=["echo served-by-$ROLE > /www/index.html; exec httpd -f -p 127.0.0.1:8080 -h /www"],
        env={"ROLE": "server"}, mounts=[Mount(str(volume), "/www")]))
    assert server.state == "running" and server.name == "server" and server.pod == pod
    client = await rt.create_and_start(sb, ContainerSpec(
        "client", busybox_image, command=["sh", "-c", """
            for i in $(seq 50); do wget -qO /data/got http://127.0.0.1:8080/ && break; sleep 0.1; done
            echo "$(hostname) $(pwd) $(id -u) $GREETING" > /data/facts"""],
        env={"GREETING": "hello world"}, working_dir="/tmp", run_as_user=65534,
        mounts=[Mount(str(volume), "/data")]))
    done = await _exited(rt, client.id)
    assert (done.exit_code, done.reason) == (0, "Completed"), await _log(rt, client.id)
    assert (volume / "got").read_text() == "served-by-server\n"  # over the shared localhost
    assert (volume / "facts").read_text() == "web-host /tmp 65534 hello world\n"

    attrs = docker_client.api.inspect_container(server.id)
    labels = attrs["Config"]["Labels"]
    assert labels[LABEL_NODE] == rt.node and labels[LABEL_POD_UID] == pod.uid
    assert (labels[LABEL_KIND], labels[LABEL_CONTAINER], labels[LABEL_ATTEMPT]) == (
        "container", "server", "0")
    assert attrs["HostConfig"]["NetworkMode"] == f"container:{sb.id}"
    sandbox = docker_client.api.inspect_container(sb.id)
    assert sandbox["Config"]["Labels"][LABEL_KIND] == "sandbox"
    assert sandbox["Config"]["Image"].startswith("jetkube/pause:")


async def _log(rt: DockerRuntime, cid: str) -> bytes:
    return b"".join([chunk async for chunk in rt.logs(cid)])


async def test_memory_and_cpu_limits_are_applied(docker_runtime: DockerRuntime,
                                                 busybox_image: str, docker_client: Any) -> None:
    rt = docker_runtime
    sb = await rt.run_sandbox(SandboxSpec(new_pod("limited"), hostname="limited"))
    c = await rt.create_and_start(sb, ContainerSpec(
        "app", busybox_image, command=["sleep", "60"], memory_limit_bytes=32 * 1024 * 1024,
        cpu_limit_millis=250))
    host = docker_client.api.inspect_container(c.id)["HostConfig"]
    assert host["Memory"] == 32 * 1024 * 1024 and host["NanoCpus"] == 250_000_000
    code, out = await rt.exec(c.id, ["sh", "-c", "cat /sys/fs/cgroup/memory.max 2>/dev/null || "
                                     "cat /sys/fs/cgroup/memory/memory.limit_in_bytes"])
    assert (code, out.strip()) == (0, str(32 * 1024 * 1024).encode())
    # over the limit the kernel kills it, and the runtime says why
    hog = await rt.create_and_start(sb, ContainerSpec(
        "hog", busybox_image, command=["tail", "/dev/zero"], memory_limit_bytes=16 * 1024 * 1024))
    info = await _exited(rt, hog.id)
    assert (info.exit_code, info.reason) == (137, "OOMKilled")
