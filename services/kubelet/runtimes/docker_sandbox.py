"""A pod's sandbox on Docker: the container that owns the pod's network namespace.

Blocking calls (the runtime runs them on its pool).  The sandbox runs the
pause image on the node's pod network (or the host's, or Docker's default
bridge), with the pod's resolv.conf bind-mounted when the pod has DNS settings
of its own; asked twice for the same pod it answers with the sandbox it made.
Two Engine API calls (create, start) when the address is known: the host network's, or
one the agent chose from its podCIDR (:func:`run_with_address`, docker_ipam.py); three
when Docker's IPAM chooses it (then an inspect reads it back: Docker's default bridge,
or a podCIDR whose every address is held).  Removing
it lists its pod's containers and removes them and it: two calls and one per
container left, plus an inspect (for its pod) when the runtime did not know it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import docker.errors

from ..runtime import LABEL_POD_UID, Sandbox, SandboxSpec
from . import docker_convert as conv
from .docker_ipam import TRIES, PodAddresses, address_in_use


def run_with_address(api: Any, owner: dict[str, str], spec: SandboxSpec, network: str,
                     image: str, resolv_conf: str | None, rebuild_image: Callable[[], object],
                     addresses: PodAddresses | None) -> Sandbox:
    """:func:`run`, on an address of ``addresses`` when given (the node's network's table):
    an address Docker says is in use stays held and the next is tried, :data:`TRIES` in
    all; then, or when every address is held, Docker's IPAM chooses."""
    for _ in range(TRIES if addresses is not None else 0):
        assert addresses is not None
        ip = addresses.take()
        if ip is None:
            break
        try:
            sandbox = run(api, owner, replace(spec, network=network, ip=ip), network, image,
                          resolv_conf, rebuild_image)
        except docker.errors.APIError as err:
            if address_in_use(str(err.explanation or err)):
                continue  # something Docker knows of holds it: it stays held
            addresses.release(ip)
            raise
        except BaseException:
            addresses.release(ip)
            raise
        if sandbox.ip != ip:  # asked twice: the sandbox made before, on its own address
            addresses.release(ip)
            addresses.hold(sandbox.ip)
        return sandbox
    return run(api, owner, spec, network, image, resolv_conf, rebuild_image)


def run(api: Any, owner: dict[str, str], spec: SandboxSpec, network: str, image: str,
        resolv_conf: str | None, rebuild_image: Callable[[], object]) -> Sandbox:
    """Create and start the sandbox (``network``: conv.sandbox_network)."""
    params = conv.sandbox_params(owner, spec, image, network)
    hc = api.create_host_config(**conv.sandbox_host_config(spec, network, resolv_conf))
    net = None
    if spec.network and spec.ip and not spec.host_network:
        net = api.create_networking_config(
            {spec.network: api.create_endpoint_config(ipv4_address=spec.ip)})
    try:
        try:
            cid = api.create_container(host_config=hc, networking_config=net, **params)["Id"]
        except docker.errors.ImageNotFound:  # someone removed the pause image
            rebuild_image()
            cid = api.create_container(host_config=hc, networking_config=net, **params)["Id"]
    except docker.errors.APIError as err:
        if err.status_code != 409:
            raise
        old = api.inspect_container(params["name"])
        pod = conv.pod_of(old["Config"]["Labels"] or {})
        if conv.sandbox_of(old).ready and pod.uid == spec.pod.uid:
            return conv.sandbox_of(old)  # asked twice: the same sandbox
        api.remove_container(old["Id"], force=True)
        cid = api.create_container(host_config=hc, networking_config=net, **params)["Id"]
    try:
        api.start(cid)
    except docker.errors.APIError:  # (e.g. its address taken): not left to a retry's create
        with contextlib.suppress(docker.errors.APIError):
            api.remove_container(cid, force=True)
        raise
    ip = conv.known_sandbox_ip(spec, network)
    if ip is not None:  # nothing left to ask: the id is create's, the pod our own
        return Sandbox(id=str(cid), pod=spec.pod, ip=ip, ready=True)
    return conv.sandbox_of(api.inspect_container(cid))


def remove(api: Any, owner: dict[str, str], sandbox_id: str,
           uid: str | None = None) -> str | None:
    """Remove the sandbox and, forcibly, every container of its pod (``uid``, read from
    the sandbox's labels when not given); the pod's uid (None if the sandbox was gone
    already)."""
    if uid is None:
        try:
            labels = api.inspect_container(sandbox_id)["Config"]["Labels"] or {}
        except docker.errors.NotFound:
            return None
        uid = conv.pod_of(labels).uid
    members = api.containers(all=True, filters={"label": [
        *conv.node_filter(owner, conv.KIND_CONTAINER)["label"], f"{LABEL_POD_UID}={uid}"]})
    for c in [*members, {"Id": sandbox_id}]:
        with contextlib.suppress(docker.errors.NotFound):
            api.remove_container(c["Id"], force=True, v=True)
    return uid
