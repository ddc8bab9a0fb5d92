"""ensure_image honours Always / IfNotPresent / Never; with no registry reachable a
missing image is ErrImagePull carrying the daemon's message; the sandbox image is
built locally whenever it is missing."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from dockerfixtures import new_pod

from jetkube.services.kubelet.runtime import ImagePullError, SandboxSpec
from jetkube.services.kubelet.runtimes.docker import DockerRuntime


async def test_present_image_is_used_without_a_pull(docker_runtime: DockerRuntime,
                                                    busybox_image: str, docker_client: Any) -> None:
    want = docker_client.api.inspect_image(busybox_image)["Id"]
    assert await docker_runtime.ensure_image(busybox_image, "IfNotPresent") == want
    assert await docker_runtime.ensure_image(busybox_image, "Never") == want


async def test_missing_images_fail_with_kubernetes_reasons(docker_runtime: DockerRuntime) -> None:
    missing = f"jetkube-test/absent-{uuid.uuid4().hex[:8]}:1.0"
    with pytest.raises(ImagePullError) as never:
        await docker_runtime.ensure_image(missing, "Never")
    assert never.value.reason == "ErrImageNeverPull"
    assert never.value.message == (f'Container image "{missing}" is not present with pull '
                                   "policy of Never")
    for policy in ("IfNotPresent", "Always"):
        with pytest.raises(ImagePullError) as pull:
            await docker_runtime.ensure_image(missing, policy)  # type: ignore[arg-type]
        assert pull.value.reason == "ErrImagePull"
        msg = pull.value.message
        assert msg.startswith(f'Failed to pull image "{missing}": ')
        assert "no image registry is reachable" in msg
        daemon_part = msg.split(": ", 1)[1].split(" (no image registry")[0]
        assert daemon_part.strip()  # the daemon's own words are kept
    with pytest.raises(ImagePullError) as bad:
        await docker_runtime.ensure_image("Not A/Valid::Name", "IfNotPresent")
    assert bad.value.reason == "InvalidImageName"


async def test_always_pulls_even_when_present(docker_runtime: DockerRuntime,
                                              busybox_image: str) -> None:
    # Kubernetes' Always asks the registry every time; here there is none to ask
    with pytest.raises(ImagePullError) as err:
        await docker_runtime.ensure_image(busybox_image, "Always")
    assert err.value.reason == "ErrImagePull"


async def test_the_pause_image_is_built_when_missing(docker_client: Any,
                                                     busybox_image: str) -> None:
    from dockerfixtures import node_name, remove_node_containers

    tag = f"jetkube/pause:test-{uuid.uuid4().hex[:8]}"
    node = node_name()
    rt = DockerRuntime(node, pause_image=tag)
    try:
        sb = await rt.run_sandbox(SandboxSpec(new_pod("p"), hostname="p"))
        assert sb.ready
        attrs = docker_client.api.inspect_container(sb.id)
        assert attrs["Config"]["Image"] == tag and attrs["State"]["Running"]
        # the sandbox's PID 1 ends on SIGTERM at once (it traps it), and reaps
        await rt.stop_container(sb.id, 10)
        assert docker_client.api.inspect_container(sb.id)["State"]["ExitCode"] == 0
    finally:
        await rt.close()
        remove_node_containers(docker_client, node)
        docker_client.api.remove_image(tag, force=True)
