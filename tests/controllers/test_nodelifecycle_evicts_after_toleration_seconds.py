"""Taint-based eviction on fake time: pods on an unreachable node go once their toleration's
tolerationSeconds have passed since the taint was added; pods that tolerate forever stay;
pods that do not tolerate a NoExecute taint go at once; a taint removed in time saves them."""

from __future__ import annotations

from typing import Any

from ctrlharness import Env, make_env

from jetkube.schemas import format_micro_time, format_time
from jetkube.schemas.objects import Obj
from jetkube.services.controllers import nodelifecycle
from jetkube.services.controllers.context import ControllerContext, ControllerManagerOptions

UNREACHABLE = "node.kubernetes.io/unreachable"


async def add_node(env: Env, name: str) -> None:
    now = format_time(env.clock.now())
    await env.client.create("nodes", None, {
        "apiVersion": "v1", "kind": "Node", "metadata": {"name": name},
        "status": {"conditions": [{"type": "Ready", "status": "True",
                                   "lastHeartbeatTime": now, "lastTransitionTime": now}]}})
    await env.client.create("leases", "kube-node-lease", {
        "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
        "metadata": {"name": name, "namespace": "kube-node-lease"},
        "spec": {"holderIdentity": name, "renewTime": format_micro_time(env.clock.now())}})


async def add_pod(env: Env, name: str, node: str, tolerations: list[Obj] | None = None) -> None:
    spec: Obj = {"nodeName": node, "containers": [{"name": "c", "image": "busybox"}]}
    if tolerations is not None:
        spec["tolerations"] = tolerations
    pod = await env.client.create("pods", "default", {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": spec})
    pod["status"] = {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}
    await env.client.update_status("pods", "default", name, pod)


async def being_deleted(env: Env) -> set[str]:
    pods = await env.objects("/api/v1/namespaces/default/pods")
    return {p["metadata"]["name"] for p in pods if p["metadata"].get("deletionTimestamp")}


async def start(env: Env, **opts: Any) -> None:
    await env.start(nodelifecycle.build(ControllerContext(env.rt, ControllerManagerOptions(**opts))))
    await env.settle()


def unreachable_for(seconds: int | None) -> list[Obj]:
    tol: Obj = {"key": UNREACHABLE, "operator": "Exists", "effect": "NoExecute"}
    if seconds is not None:
        tol["tolerationSeconds"] = seconds
    return [tol]


async def test_pods_go_when_their_toleration_runs_out_and_forever_tolerators_stay() -> None:
    env = await make_env()
    try:
        await add_node(env, "n1")
        await add_pod(env, "default-300", "n1")  # admission adds the 300 s tolerations
        await add_pod(env, "short-30", "n1", unreachable_for(30))
        await add_pod(env, "forever", "n1", unreachable_for(None))
        await start(env, node_monitor_period=5, node_monitor_grace_period=50)
        await env.clock.advance(51)  # unreachable taint added at ~t=51
        await env.settle()
        node = await env.client.get("nodes", None, "n1")
        assert any(t["key"] == UNREACHABLE and t["effect"] == "NoExecute"
                   for t in node["spec"]["taints"])
        assert await being_deleted(env) == set()
        await env.clock.advance(28)  # t=79
        await env.settle()
        assert await being_deleted(env) == set()
        await env.clock.advance(3)  # t=82 > 51 + 30
        await env.settle()
        assert await being_deleted(env) == {"short-30"}
        evicted = await env.client.get("pods", "default", "short-30")
        assert {"type": "DisruptionTarget", "reason": "DeletionByTaintManager"}.items() <= \
            next(c for c in evicted["status"]["conditions"]
                 if c["type"] == "DisruptionTarget").items()
        await env.clock.advance(260)  # t=342: 291 s after the taint
        await env.settle()
        assert await being_deleted(env) == {"short-30"}
        await env.clock.advance(12)  # t=354 > 51 + 300
        await env.settle()
        assert await being_deleted(env) == {"short-30", "default-300"}
        await env.clock.advance(3600)
        await env.settle()
        assert "forever" not in await being_deleted(env)
    finally:
        await env.close()


async def test_untolerated_no_execute_taint_evicts_at_once_and_tolerated_one_not() -> None:
    env = await make_env()
    try:
        await add_node(env, "n1")
        await add_pod(env, "plain", "n1")
        await add_pod(env, "tolerant", "n1", [{"key": "maintenance", "operator": "Exists",
                                               "effect": "NoExecute"}])
        await start(env)
        node = await env.client.get("nodes", None, "n1")
        node["spec"]["taints"] = [{"key": "maintenance", "value": "now", "effect": "NoExecute"}]
        await env.client.update("nodes", None, "n1", node)
        await env.settle()
        await env.clock.advance(0.1)
        await env.settle()
        assert await being_deleted(env) == {"plain"}
    finally:
        await env.close()


async def test_node_heard_from_again_before_the_deadline_keeps_its_pods() -> None:
    env = await make_env()
    try:
        await add_node(env, "n1")
        await add_pod(env, "p", "n1", unreachable_for(30))
        await start(env, node_monitor_period=5, node_monitor_grace_period=50)
        await env.clock.advance(51)
        await env.settle()
        node = await env.client.get("nodes", None, "n1")
        assert node["spec"].get("taints")
        now = format_time(env.clock.now())
        node["status"]["conditions"] = [{"type": "Ready", "status": "True",
                                         "lastHeartbeatTime": now, "lastTransitionTime": now}]
        await env.client.update_status("nodes", None, "n1", node)
        await env.settle()
        await env.clock.advance(1)
        await env.settle()
        assert not (await env.client.get("nodes", None, "n1"))["spec"].get("taints")
        await env.clock.advance(60)
        await env.settle()
        assert await being_deleted(env) == set()
    finally:
        await env.close()
