"""What the StatefulSet controller tests share: an env running the controller, a set
manifest, and a hand-driven node agent (pods become Running and Ready only when a test
says so, and deletions finish only when it says so)."""

from __future__ import annotations

from typing import Any

from ctrlharness import Env, make_env

from jetkube.schemas.objects import Obj
from jetkube.services.controllers import statefulset
from jetkube.services.controllers.context import ControllerContext, ControllerManagerOptions

NS = "default"


async def start(**spec: Any) -> Env:
    """An env with the controller running and Service-less set ``web`` created."""
    env = await make_env()
    await env.start(statefulset.build(ControllerContext(env.rt, ControllerManagerOptions())))
    await env.client.create("statefulsets", NS, manifest(**spec))
    await env.settle()
    return env


def manifest(name: str = "web", replicas: int = 3, image: str = "httpd:1", **spec: Any) -> Obj:
    return {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": name},
            "spec": {"replicas": replicas, "serviceName": "nginx",
                     "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}}, "spec": {
                         "containers": [{"name": "c", "image": image}]}}, **spec}}


async def pods(env: Env) -> dict[str, Obj]:
    """Pods by name."""
    return {p["metadata"]["name"]: p
            for p in await env.objects(f"/api/v1/namespaces/{NS}/pods")}


async def names(env: Env) -> list[str]:
    return sorted(n for n, p in (await pods(env)).items()
                  if not p["metadata"].get("deletionTimestamp"))


async def run(env: Env, *which: str) -> None:
    """The scheduler and node agent: the named pods (all Pending ones without names) are
    bound to node n1 (so a deletion is graceful) and become Running and Ready."""
    for name, p in (await pods(env)).items():
        if p["metadata"].get("deletionTimestamp") or (which and name not in which):
            continue
        if p["status"].get("phase") == "Pending":
            if not p["spec"].get("nodeName"):
                await env.client.bind(NS, name, "n1")
                p = await env.client.get("pods", NS, name)
            p["status"] = {"phase": "Running",
                           "conditions": [{"type": "Ready", "status": "True"}]}
            await env.client.update_status("pods", NS, name, p)
    await env.settle()


async def finish_deletions(env: Env) -> None:
    """The node agent ends the containers of pods being deleted."""
    for name, p in (await pods(env)).items():
        if p["metadata"].get("deletionTimestamp"):
            await env.client.delete("pods", NS, name, grace_period_seconds=0)
    await env.settle()


async def get_set(env: Env, name: str = "web") -> Obj:
    return await env.client.get("statefulsets", NS, name)


async def set_image(env: Env, image: str, name: str = "web", **rolling: Any) -> None:
    sts = await get_set(env, name)
    sts["spec"]["template"]["spec"]["containers"][0]["image"] = image
    if rolling:
        sts["spec"]["updateStrategy"] = {"type": "RollingUpdate", "rollingUpdate": rolling}
    await env.client.update("statefulsets", NS, name, sts)
    await env.settle()


def image_of(pod: Obj) -> str:
    return str(pod["spec"]["containers"][0]["image"])


async def images(env: Env) -> dict[str, str]:
    return {n: image_of(p) for n, p in (await pods(env)).items()
            if not p["metadata"].get("deletionTimestamp")}
