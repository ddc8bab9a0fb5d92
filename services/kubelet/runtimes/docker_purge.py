"""Everything one scope's node agents made on this machine, removed (tests, ``kctl down``,
``jetkube-kubelet --cleanup``): containers and Docker networks by the scope's label,
then the host side of the pod network (forward chains, VXLAN devices, routes)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
from typing import Any

from jetkube.services.machinery.hostnet import HostNet, missing_privileges

from ..podnet import metric_in_scope, scope_chain_prefix
from ..podnet_vxlan import delete_scope_vteps
from . import docker_convert as conv

__all__ = ["purge_scope"]


async def _purge_host(scope: str, hostnet: HostNet) -> tuple[list[str], list[str], list[str]]:
    chains = await hostnet.delete_chains("filter", scope_chain_prefix(scope))
    vteps = await delete_scope_vteps(hostnet, scope)
    routes = []
    for r in await hostnet.routes():
        metric = r.get("metric")
        if isinstance(metric, int) and metric_in_scope(metric, scope):
            await hostnet.delete_route_matching(str(r["dst"]), "metric", str(metric))
            routes.append(str(r["dst"]))
    return chains, routes, vteps


def purge_scope(scope: str, *, client: Any = None,
                hostnet: HostNet | None = None) -> dict[str, list[str]]:
    """Remove every container, network, forward chain, VXLAN device and route (proto 74,
    the scope's metric) that the node agents of ``scope`` made on this machine (tests, ``kctl down``).
    Blocking; callable from a thread with or without an event loop."""
    import docker

    own = client is None
    client = client or docker.from_env(timeout=60)
    gone: dict[str, list[str]] = {"containers": [], "networks": [], "chains": [], "routes": [],
                                  "vxlan devices": []}
    label = {"label": [f"{conv.LABEL_SCOPE}={scope}"]}
    try:
        for c in client.api.containers(all=True, filters=label):
            with contextlib.suppress(docker.errors.NotFound):
                client.api.remove_container(c["Id"], force=True, v=True)
                gone["containers"].append(c["Id"][:12])
        for n in client.api.networks(filters=label):
            with contextlib.suppress(docker.errors.NotFound):
                client.api.remove_network(n["Id"])
                gone["networks"].append(n["Name"])
    finally:
        if own:
            client.close()
    if hostnet is not None or missing_privileges() is None:
        with concurrent.futures.ThreadPoolExecutor(1) as pool:  # a loop may run in this thread
            gone["chains"], gone["routes"], gone["vxlan devices"] = pool.submit(
                asyncio.run, _purge_host(scope, hostnet or HostNet())).result()
    return gone
