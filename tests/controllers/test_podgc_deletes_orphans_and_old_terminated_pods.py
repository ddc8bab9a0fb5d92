"""Pod garbage collection on fake time (Kubernetes' podgc): a pod bound to a node that does
not exist is deleted after the quarantine, with DisruptionTarget; pods of a node that
is deleted go the same way; a pod on a node that exists (or registers late) stays;
finished pods beyond the threshold go, oldest first."""

from __future__ import annotations

from typing import Any

from ctrlharness import Env, make_env

from jetkube.schemas.objects import Obj
from jetkube.services.controllers import podgc
from jetkube.services.controllers.context import ControllerContext, ControllerManagerOptions

NS = "/api/v1/namespaces/default/pods"
QUARANTINE = ControllerManagerOptions().orphan_pod_quarantine_seconds


async def add_node(env: Env, name: str) -> None:
    await env.client.create("nodes", None, {"apiVersion": "v1", "kind": "Node",
                                            "metadata": {"name": name}})


async def add_pod(env: Env, name: str, node: str | None = None, phase: str | None = None) -> Obj:
    spec: Obj = {"containers": [{"name": "c", "image": "busybox"}]}
    if node:
        spec["nodeName"] = node
    pod = await env.client.create("pods", "default", {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": spec})
    if phase:
        pod["status"] = {"phase": phase}
        pod = await env.client.update_status("pods", "default", name, pod)
    return pod


async def names(env: Env) -> set[str]:
    return {p["metadata"]["name"] for p in await env.objects(NS)}


async def start(env: Env, **opts: Any) -> None:
    await env.start(podgc.build(ControllerContext(env.rt, ControllerManagerOptions(**opts))))
    await env.settle()


async def test_pods_of_missing_or_deleted_nodes_go_after_the_quarantine() -> None:
    env = await make_env()
    try:
        await add_node(env, "here")
        await add_node(env, "leaving")
        await add_pod(env, "on-here", "here")
        await add_pod(env, "on-ghost", "ghost")  # a node that never existed
        await add_pod(env, "on-leaving", "leaving")
        await start(env)
        await env.clock.advance(QUARANTINE - 5)
        await env.settle()
        assert await names(env) == {"on-here", "on-ghost", "on-leaving"}  # quarantined
        await env.client.delete("nodes", None, "leaving")
        await env.clock.advance(10)
        await env.settle()
        assert await names(env) == {"on-here", "on-leaving"}  # the ghost's pod went
        await env.clock.advance(QUARANTINE)
        await env.settle()
        assert await names(env) == {"on-here"}  # the deleted node's pod too
        events = await env.objects("/api/v1/namespaces/default/events")
        assert any(e["reason"] == "PodGC" and e["involvedObject"]["name"] == "on-ghost"
                   for e in events)
    finally:
        await env.close()


async def test_a_pod_whose_node_registers_late_is_kept() -> None:
    env = await make_env()
    try:
        await add_pod(env, "early", "late-node")
        await start(env)
        await env.clock.advance(10)
        await add_node(env, "late-node")
        await env.clock.advance(QUARANTINE * 2)
        await env.settle()
        assert await names(env) == {"early"}
    finally:
        await env.close()


async def test_finished_pods_beyond_the_threshold_go_oldest_first() -> None:
    env = await make_env()
    try:
        await add_node(env, "n")
        for i in range(5):
            await add_pod(env, f"done-{i}", "n", "Succeeded" if i % 2 else "Failed")
            await env.clock.advance(1)  # creation times apart
        await add_pod(env, "running", "n", "Running")
        await start(env, terminated_pod_gc_threshold=3)
        await env.clock.advance(1)
        await env.settle()
        assert await names(env) == {"done-2", "done-3", "done-4", "running"}
    finally:
        await env.close()


async def test_threshold_zero_keeps_every_finished_pod() -> None:
    env = await make_env()
    try:
        await add_node(env, "n")
        for i in range(3):
            await add_pod(env, f"done-{i}", "n", "Succeeded")
        await start(env, terminated_pod_gc_threshold=0)
        await env.clock.advance(5)
        await env.settle()
        assert await names(env) == {"done-0", "done-1", "done-2"}
    finally:
        await env.close()
