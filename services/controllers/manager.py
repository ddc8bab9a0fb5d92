"""The controller table and how the manager runs it.

Each entry names a module with ``build(ctx) -> Controller`` (machinery's
Controller: a work queue and a level-triggered ``reconcile(key)``).  The
table is data, read here; nothing registers itself on import.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
from typing import Any, Protocol

from .context import ControllerContext

log = logging.getLogger(__name__)

CONTROLLERS: dict[str, str] = {
    "replicaset": "jetkube.services.controllers.replicaset",
    "deployment": "jetkube.services.controllers.deployment",
    "garbagecollector": "jetkube.services.controllers.garbagecollector",
    "namespace": "jetkube.services.controllers.namespace",
    "nodelifecycle": "jetkube.services.controllers.nodelifecycle",
    "endpoints": "jetkube.services.controllers.endpoints",
    "job": "jetkube.services.controllers.job",
    "cronjob": "jetkube.services.controllers.cronjob",
    "ttlafterfinished": "jetkube.services.controllers.ttlafterfinished",
    "daemonset": "jetkube.services.controllers.daemonset",
    "statefulset": "jetkube.services.controllers.statefulset",
    "nodeipam": "jetkube.services.controllers.nodeipam",
    "servicelb": "jetkube.services.controllers.servicelb",
    "podgc": "jetkube.services.controllers.podgc",
    "persistentvolume-binder": "jetkube.services.controllers.persistentvolume",
    "pv-protection": "jetkube.services.controllers.pvprotection",
    "pvc-protection": "jetkube.services.controllers.pvcprotection",
    "local-path-provisioner": "jetkube.services.controllers.localpath",
    "serviceaccount": "jetkube.services.controllers.serviceaccount",
    "root-ca-cert-publisher": "jetkube.services.controllers.rootcacert",
    "replicationcontroller": "jetkube.services.controllers.replicationcontroller",
    "endpointslice": "jetkube.services.controllers.endpointslice",
    "endpointslicemirroring": "jetkube.services.controllers.endpointslicemirroring",
}


class Runnable(Protocol):
    name: str

    def start(self) -> None: ...

    async def stop(self, grace_seconds: float | None = None) -> None: ...


def select(spec: tuple[str, ...]) -> list[str]:
    """kube-controller-manager's --controllers: ``*``, ``name``, ``-name``."""
    chosen: list[str] = []
    for item in spec:
        if item == "*":
            chosen += [n for n in CONTROLLERS if n not in chosen]
        elif item.startswith("-"):
            continue
        elif item in CONTROLLERS:
            if item not in chosen:
                chosen.append(item)
        else:
            raise ValueError(f"--controllers: unknown controller {item!r} "
                             f"(known: {', '.join(CONTROLLERS)})")
    off = {i[1:] for i in spec if i.startswith("-")}
    unknown = off - set(CONTROLLERS)
    if unknown:
        raise ValueError(f"--controllers: unknown controller {sorted(unknown)[0]!r}")
    return [n for n in chosen if n not in off]


def build_all(ctx: ControllerContext, names: list[str]) -> list[Runnable]:
    built: list[Runnable] = []
    for name in names:
        module: Any = importlib.import_module(CONTROLLERS[name])
        built.append(module.build(ctx))
    return built


async def run(ctx: ControllerContext) -> None:
    """Build the chosen controllers, sync their informers, run until cancelled."""
    names = select(ctx.options.controllers)
    controllers = build_all(ctx, names)
    ctx.rt.informers.start()
    await ctx.rt.informers.wait_for_cache_sync()
    for c in controllers:
        c.start()
    log.info("controllers running: %s", ", ".join(names))
    try:
        await asyncio.Event().wait()
    finally:
        await asyncio.gather(*(c.stop(5.0) for c in controllers), return_exceptions=True)
