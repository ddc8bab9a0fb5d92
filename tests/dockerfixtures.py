"""Test helper for tests against the real Docker daemon (not a test module).

``docker_or_skip``: a client of the daemon (DOCKER_HOST honoured).  Without a
daemon the test is skipped with the reason, unless CI is set: in CI a missing
Docker is a failure (.ci/run provisions one).  Node names and scopes of a test's
own, and the clean-up of what they made (``remove_node_containers``, ``purge``).

The fixtures built on these (``docker_client``, ``busybox_image``,
``docker_runtime``) are in tests/conftest.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator
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
    from _rawdocker import remove_labelled  # bench/'s: the benchmarks clean up the same way

    return remove_labelled(client, f"{LABEL_NODE}={node}")


def node_name(prefix: str = "test") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def new_scope(prefix: str = "test") -> str:
    """A scope of its own: nothing another test or cluster made is ever touched."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def purge(client: Any, scope: str) -> dict[str, list[str]]:
    """Everything ``scope`` made on this machine, removed (see purge_scope)."""
    from jetkube.services.kubelet.runtimes.docker_purge import purge_scope

    return purge_scope(scope, client=client)


def new_pod(name: str = "web", namespace: str = "default") -> PodRef:
    return PodRef(str(uuid.uuid4()), namespace, name)


__all__ = ["BUSYBOX_TAG", "counted_docker_runtime", "counted_runtime", "docker_or_skip", "in_ci",
           "new_pod", "new_scope", "node_name", "purge", "remove_node_containers"]


def counted_runtime(root: Any) -> tuple[Any, Any, str, str]:
    """A DockerRuntime (no pod network, state under ``root``) on a Docker client of its own
    whose Engine API calls a CallCounter (bench/_dockercalls.py) counts; with its node name
    and scope, for the clean-up."""
    import docker
    from _dockercalls import CallCounter

    from jetkube.services.kubelet.runtimes.docker import DockerRuntime

    counter = CallCounter()
    client = docker.from_env(timeout=30)
    counter.wrap(client.api)
    engine = counter.engine_of(client.api)
    node, scope = node_name(), new_scope()
    rt = DockerRuntime(node, client=client, scope=scope, pod_network="none", root_dir=root,
                       engine=engine)
    return rt, counter, node, scope


@contextlib.asynccontextmanager
async def counted_docker_runtime(docker_client: Any, root: Path
                                 ) -> AsyncIterator[tuple[Any, Any]]:
    """``counted_runtime``'s runtime and CallCounter; afterwards the runtime is closed and
    everything of its node and scope removed."""
    rt, counter, node, scope = counted_runtime(root)
    try:
        yield rt, counter
    finally:
        await rt.close()
        remove_node_containers(docker_client, node)
        await asyncio.to_thread(purge, docker_client, scope)
        rt.client.close()
