"""Fixtures for tests against the real Docker daemon (import them into a test module).

``docker_client``: a client of the daemon (DOCKER_HOST honoured).  Without a
daemon the test is skipped with the reason, unless CI is set: in CI a
missing Docker is a failure (.ci/run provisions one).
``busybox_image``: ``jetkube/busybox:test``, built once per session from the
local static busybox when missing (no registry is reachable).
``docker_runtime``: a DockerRuntime for a node name and a scope of its own;
afterwards every container labelled with that node, and everything of that
scope (containers, pod networks, forward chains, routes: ``purge_scope``), is
removed, whatever happened.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from jetkube.services.kubelet.runtime import LABEL_NODE, PodRef

BUSYBOX_TAG = "jetkube/busybox:test"


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


def docker_or_skip() -> Any:
    """A docker client, or skip (fail under CI) with the reason."""
    try:
        import docker

        client = docker.from_env(timeout=30)
        client.ping()
        return client
    except Exception as err:
        reason = f"Docker is not reachable ({type(err).__name__}: {err})"
        if in_ci():
            pytest.fail(f"{reason}; CI is set, so Docker is required (.ci/run starts it)")
        pytest.skip(f"{reason}; set DOCKER_HOST or start dockerd to run this test")


def remove_node_containers(client: Any, node: str) -> int:
    """Force-remove every container labelled with ``node``; returns how many."""
    gone = 0
    for c in client.api.containers(all=True, filters={"label": f"{LABEL_NODE}={node}"}):
        try:
            client.api.remove_container(c["Id"], force=True, v=True)
            gone += 1
        except Exception:
            pass
    return gone


@pytest.fixture(scope="session", name="docker_client")
def docker_client_fixture() -> Iterator[Any]:
    client = docker_or_skip()
    yield client
    client.close()


@pytest.fixture(scope="session", name="busybox_image")
def busybox_image_fixture(docker_client: Any) -> str:
    from jetkube.services.kubelet.runtimes.docker_images import build_busybox_image

    build_busybox_image(docker_client, BUSYBOX_TAG)
    return BUSYBOX_TAG


def node_name(prefix: str = "test") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def new_scope(prefix: str = "test") -> str:
    """A scope of its own: nothing another test or cluster made is ever touched."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def purge(client: Any, scope: str) -> dict[str, list[str]]:
    """Everything ``scope`` made on this machine, removed (see purge_scope)."""
    from jetkube.services.kubelet.runtimes.docker_network import purge_scope

    return purge_scope(scope, client=client)


def new_pod(name: str = "web", namespace: str = "default") -> PodRef:
    return PodRef(str(uuid.uuid4()), namespace, name)


@pytest.fixture(name="docker_runtime")
async def docker_runtime_fixture(docker_client: Any, busybox_image: str,
                                 tmp_path: Path) -> AsyncIterator[Any]:
    from jetkube.services.kubelet.runtimes.docker import DockerRuntime

    node, scope = node_name(), new_scope()
    rt = DockerRuntime(node, scope=scope, root_dir=tmp_path / "docker-runtime")
    try:
        yield rt
    finally:
        await rt.close()
        remove_node_containers(docker_client, node)
        await asyncio.to_thread(purge, docker_client, scope)


__all__ = ["BUSYBOX_TAG", "busybox_image_fixture", "docker_client_fixture", "docker_or_skip",
           "docker_runtime_fixture", "in_ci", "new_pod", "new_scope", "node_name", "purge",
           "remove_node_containers"]
