"""Test helper for the garbage collector's tests (not a test module): ConfigMaps as
owners and dependents (``cm``), their names (``names``), and a started collector."""

from __future__ import annotations

from ctrlharness import Env

from jetkube.schemas.objects import Obj
from jetkube.services.controllers.context import ControllerContext, ControllerManagerOptions
from jetkube.services.controllers.garbagecollector import GarbageCollector

CMS = "/api/v1/namespaces/default/configmaps"


def cm(name: str, *owners: Obj, block: bool = False) -> Obj:
    refs = [{"apiVersion": o["apiVersion"], "kind": o["kind"], "name": o["metadata"]["name"],
             "uid": o["metadata"]["uid"], **({"blockOwnerDeletion": True} if block else {})}
            for o in owners]
    md: Obj = {"name": name}
    if refs:
        md["ownerReferences"] = refs
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": md, "data": {"k": "v"}}


async def names(env: Env) -> set[str]:
    return {o["metadata"]["name"] for o in await env.objects(CMS)}


async def start_gc(env: Env) -> GarbageCollector:
    gc = GarbageCollector(ControllerContext(env.rt, ControllerManagerOptions()))
    await env.start(gc.controller)
    return gc
