"""A pod's containers on Docker: the Engine API calls behind the runtime.

Creating and starting run on the agent's loop (docker_engine.py); listing and stats are
blocking SDK calls the runtime runs on its pool.  A container is
created joined to its sandbox (convert.container_params / container_host_config);
asked again for the same attempt it answers with the container it made (created
or running) or replaces one that ended.  A started container costs two calls
(create and start) when this call created it: what it is follows from its spec
(docker_convert.started_info), so only an adopted one is inspected.
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import Any

import docker.errors

from ..runtime import ContainerSpec, Sandbox
from . import docker_convert as conv
from . import docker_podfiles as podfiles
from .docker_engine import Engine, container_config


async def create(engine: Engine, api: Any, owner: dict[str, str], root_dir: Path,
                 sandbox: Sandbox, spec: ContainerSpec) -> tuple[str, bool]:
    """The container's id, and whether this call created it."""
    config, name = container_config(api, conv.container_params(owner, sandbox, spec),
                                    conv.container_host_config(
        sandbox.id, spec, podfiles.existing(root_dir, sandbox.pod.uid, podfiles.RESOLV_CONF),
        podfiles.existing(root_dir, sandbox.pod.uid, podfiles.HOSTS)))
    try:
        return await engine.create_container(config, name), True
    except docker.errors.APIError as err:
        if err.status_code != 409:
            raise
    old = await engine.inspect_container(str(name))  # this attempt exists already
    if old["State"]["Status"] in ("created", "running"):
        return str(old["Id"]), False
    await engine.remove_container(old["Id"], force=True)
    return await engine.create_container(config, name), True


async def start(engine: Engine, cid: str, created: bool
                ) -> tuple[dict[str, Any] | None, float]:
    """Start; the container's inspect when this call did not create it (else None:
    its spec says it all), and when ``start`` returned."""
    await engine.start(cid)  # a running container answers 304: fine
    now = time.time()
    return (None if created else await engine.inspect_container(cid)), now


def list_inspected(api: Any, owner: dict[str, str], kind: str) -> list[dict[str, Any]]:
    """The inspect of every container of ``kind`` (sandbox or container) of the node."""
    out = []
    for c in api.containers(all=True, filters=conv.node_filter(owner, kind)):
        with contextlib.suppress(docker.errors.NotFound):
            out.append(dict(api.inspect_container(c["Id"])))
    return out


def read_stats(api: Any, cid: str) -> Any:
    """The daemon's one-shot stats (an older daemon without one-shot takes ~1 s)."""
    try:
        return api.stats(cid, stream=False, one_shot=True)
    except docker.errors.InvalidVersion:  # API < 1.41
        return api.stats(cid, stream=False)


__all__ = ["create", "list_inspected", "read_stats", "start"]
