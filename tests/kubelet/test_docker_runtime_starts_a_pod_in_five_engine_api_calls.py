"""Once its image is known, a pod on Docker's default bridge (no pod network: this
runtime's ``pod_network="none"``) costs the Docker daemon five Engine API calls: the
sandbox's create, start and inspect (the address Docker's IPAM gave it) and the container's
create and start (``docker run -d`` twice is four); a hostNetwork pod four.  What
``create_and_start`` answers without an inspect is what an inspect would say.  An image's
id is asked once, and asked again after any change to the daemon's images (a removed tag
is missing again, a moved tag names its new image)."""

from __future__ import annotations

import dataclasses
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import docker
import pytest
from _dockercalls import CallCounter
from dockerfixtures import counted_docker_runtime, new_pod
from polling import until

from jetkube.schemas import parse_time
from jetkube.services.kubelet.runtime import (
    ContainerInfo,
    ContainerSpec,
    ImagePullError,
    Sandbox,
    SandboxSpec,
)
from jetkube.services.kubelet.runtimes import docker_convert as conv
from jetkube.services.kubelet.runtimes.docker import DockerRuntime
from jetkube.services.kubelet.runtimes.docker_images import ensure_pause_image

CREATE, START = "POST /containers/create", "POST /containers/{id}/start"
INSPECT, IMAGE = "GET /containers/{id}/json", "GET /images/{ref}/json"


@pytest.fixture(name="counted")
async def counted_fixture(docker_client: Any, busybox_image: str,
                          tmp_path: Path) -> AsyncIterator[tuple[DockerRuntime, CallCounter]]:
    """A DockerRuntime on a client of its own whose Engine API calls are counted."""
    async with counted_docker_runtime(docker_client, tmp_path / "rt") as pair:
        yield pair


async def start_pod(rt: DockerRuntime, image: str, *, host_network: bool = False
                    ) -> tuple[Sandbox, ContainerInfo]:
    """What the pod worker does for a one-container pod."""
    pod = new_pod(f"p-{uuid.uuid4().hex[:6]}")
    await rt.ensure_image(image, "IfNotPresent")
    sb = await rt.run_sandbox(SandboxSpec(pod, hostname=pod.name, host_network=host_network))
    info = await rt.create_and_start(sb, ContainerSpec("c", image, command=["sleep", "60"],
                                                       attempt=1))
    return sb, info


async def test_a_pod_of_a_known_image_takes_five_calls_and_a_host_network_pod_four(
        counted: tuple[DockerRuntime, CallCounter], busybox_image: str,
        docker_client: Any) -> None:
    rt, counter = counted
    await start_pod(rt, busybox_image)  # the first pod also checks the pause image and its own
    before = counter.snapshot()
    sb, info = await start_pod(rt, busybox_image)
    assert counter.since(before) == Counter({CREATE: 2, START: 2, INSPECT: 1})
    before = counter.snapshot()
    await start_pod(rt, busybox_image, host_network=True)
    assert counter.since(before) == Counter({CREATE: 2, START: 2})

    inspected = conv.container_info(docker_client.api.inspect_container(info.id))
    assert info.started_at is not None and inspected.started_at is not None
    skew = parse_time(info.started_at) - parse_time(inspected.started_at)  # type: ignore[operator]
    assert 0 <= skew.total_seconds() <= 1  # second precision; ours read as start returned
    assert info == dataclasses.replace(inspected, started_at=info.started_at)
    assert sb == conv.sandbox_of(docker_client.api.inspect_container(sb.id)) and sb.ip


async def test_an_image_id_is_asked_once_and_again_after_the_daemon_changes_images(
        counted: tuple[DockerRuntime, CallCounter], busybox_image: str,
        docker_client: Any) -> None:
    rt, counter = counted
    repo = f"jetkube-test/ids-{uuid.uuid4().hex[:8]}"
    ref = f"{repo}:1"
    busybox_id = docker_client.api.inspect_image(busybox_image)["Id"]
    docker_client.api.tag(busybox_image, repo, "1")
    try:
        assert await rt.ensure_image(ref, "IfNotPresent") == busybox_id
        before = counter.snapshot()
        assert await rt.ensure_image(ref, "Never") == busybox_id
        assert await rt.ensure_image(ref, "IfNotPresent") == busybox_id
        assert counter.since(before)[IMAGE] == 0

        pause_id = ensure_pause_image(docker_client, rt.pause_image)
        docker_client.api.tag(rt.pause_image, repo, "1")  # the tag moves to another image
        await until(lambda: rt.ensure_image(ref, "IfNotPresent"),
                    accept=lambda got: got == pause_id, timeout=10,
                    message="the moved tag's new image")
        assert await rt.ensure_image(ref, "Never") == pause_id

        docker_client.api.remove_image(ref)  # untagged: missing again, as Never says

        async def never_pull() -> str:
            try:
                return await rt.ensure_image(ref, "Never")
            except ImagePullError as err:
                return err.reason

        await until(never_pull, accept=lambda got: got == "ErrImageNeverPull", timeout=10,
                    message="the removed tag reported missing")
    finally:
        try:
            docker_client.api.remove_image(ref)
        except docker.errors.NotFound:
            pass
