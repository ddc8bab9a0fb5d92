"""A pod's sandbox on Docker: the container that owns the pod's network namespace.

Its calls are made on the agent's loop (docker_engine.py).  The sandbox runs the pause image
with the pod's resolv.conf bind-mounted when the pod has DNS settings of its own; asked
twice for the same pod it answers with the sandbox it made.  On the node's pod network
(:func:`run_wired`) it starts on no network of Docker's, labelled with the address the
agent chose (docker_ipam.py), and its /etc/hosts is the agent's; its PID is read (an
inspect) for the agent to wire its namespace (docker_wiring.py): three Engine API calls.
On the host's network (:func:`run`) two: create and start; on Docker's default bridge
(no pod network) three, the inspect reading the address Docker's IPAM chose.  Removing
it lists its pod's containers and removes them and it: two calls and one per
container left, plus an inspect (for its pod) when the runtime did not know it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

import docker.errors

from ..runtime import LABEL_POD_UID, Sandbox, SandboxSpec
from . import docker_convert as conv
from .docker_engine import Engine, container_config


async def create_and_start(engine: Engine, api: Any, spec: SandboxSpec,
                           params: dict[str, Any], host_config: dict[str, Any],
                           rebuild_image: Callable[[], Awaitable[object]], *,
                           reuse: bool = True) -> str | dict[str, Any]:
    """The started sandbox's id, or (``reuse``) the inspected sandbox this pod already has
    (asked twice).  A sandbox that does not start is removed, not left to a retry's
    create."""
    config, name = container_config(api, params, host_config)
    try:
        try:
            cid = await engine.create_container(config, name)
        except docker.errors.ImageNotFound:  # someone removed the pause image
            await rebuild_image()
            cid = await engine.create_container(config, name)
    except docker.errors.APIError as err:
        if err.status_code != 409:
            raise
        old = await engine.inspect_container(str(name))
        pod = conv.pod_of(old["Config"]["Labels"] or {})
        if reuse and conv.sandbox_of(old).ready and pod.uid == spec.pod.uid:
            return old  # asked twice: the same sandbox
        await engine.remove_container(old["Id"], force=True)
        cid = await engine.create_container(config, name)
    try:
        await engine.start(cid)
    except docker.errors.APIError:
        with contextlib.suppress(docker.errors.APIError):
            await engine.remove_container(cid, force=True)
        raise
    return cid


async def run(engine: Engine, api: Any, owner: dict[str, str], spec: SandboxSpec,
              network: str, image: str, resolv_conf: str | None,
              rebuild_image: Callable[[], Awaitable[object]]) -> Sandbox:
    """Create and start the sandbox on a network of Docker's (``network``:
    conv.sandbox_network: the host's or the default bridge)."""
    params = conv.sandbox_params(owner, spec, image, network)
    hc = conv.sandbox_host_config(spec, network, resolv_conf)
    made = await create_and_start(engine, api, spec, params, hc, rebuild_image)
    if isinstance(made, dict):
        return conv.sandbox_of(made)
    ip = conv.known_sandbox_ip(spec, network)
    if ip is not None:  # nothing left to ask: the id is create's, the pod our own
        return Sandbox(id=made, pod=spec.pod, ip=ip, ready=True)
    return conv.sandbox_of(await engine.inspect_container(made))


async def run_wired(engine: Engine, api: Any, owner: dict[str, str], spec: SandboxSpec,
                    image: str, resolv_conf: str | None, hosts: str,
                    rebuild_image: Callable[[], Awaitable[object]]) -> tuple[Sandbox, int]:
    """Create and start the sandbox with no network of Docker's, for the agent to wire
    (``spec.ip`` on ``spec.network``; ``hosts``: the pod's /etc/hosts file): the sandbox
    and its PID.  One left by an earlier try is replaced, never reused: its wiring may not
    have been finished."""
    assert conv.wired(spec, "none"), spec
    params = conv.sandbox_params(owner, spec, image, "none")
    hc = conv.sandbox_host_config(spec, "none", resolv_conf, hosts)
    made = await create_and_start(engine, api, spec, params, hc, rebuild_image, reuse=False)
    assert isinstance(made, str)
    pid = int(((await engine.inspect_container(made)).get("State") or {}).get("Pid") or 0)
    if pid <= 0:  # it ended already: nothing to wire
        with contextlib.suppress(docker.errors.APIError):
            await engine.remove_container(made, force=True)
        raise docker.errors.APIError(f"sandbox {made[:12]} exited as it started")
    return Sandbox(id=made, pod=spec.pod, ip=str(conv.known_sandbox_ip(spec, "none")),
                   ready=True), pid


async def remove(engine: Engine, owner: dict[str, str], sandbox_id: str,
                 uid: str | None = None) -> str | None:
    """Remove the sandbox and, forcibly, every container of its pod (``uid``, read from
    the sandbox's labels when not given); the pod's uid (None if the sandbox was gone
    already)."""
    if uid is None:
        try:
            labels = (await engine.inspect_container(sandbox_id))["Config"]["Labels"] or {}
        except docker.errors.NotFound:
            return None
        uid = conv.pod_of(labels).uid
    members = await engine.containers({"label": [
        *conv.node_filter(owner, conv.KIND_CONTAINER)["label"], f"{LABEL_POD_UID}={uid}"]})
    for c in [*members, {"Id": sandbox_id}]:
        with contextlib.suppress(docker.errors.NotFound):
            await engine.remove_container(c["Id"], force=True, volumes=True)
    return uid
