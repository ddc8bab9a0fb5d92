"""Which nodes a DaemonSet runs on: nodeSelector, required node affinity, taints and
tolerations (daemon pods tolerate not-ready/unreachable/unschedulable by default); a new
NoSchedule taint leaves a running pod alone, an untolerated NoExecute taint removes it."""

from __future__ import annotations

from typing import Any

from ctrlharness import Env, make_env
from polling import until

from jetkube.schemas.objects import Obj
from jetkube.services.controllers import daemonset
from jetkube.services.controllers.context import ControllerContext, ControllerManagerOptions


async def add_node(env: Env, name: str, labels: dict[str, str] | None = None,
                   taints: list[Obj] | None = None, unschedulable: bool = False) -> None:
    spec: Obj = {"taints": taints} if taints else {}
    if unschedulable:
        spec["unschedulable"] = True
    await env.client.create("nodes", None, {"apiVersion": "v1", "kind": "Node", "metadata": {
        "name": name, "labels": labels or {}}, "spec": spec})


async def nodes_with_pods(env: Env, ds: str) -> set[str]:
    return {p["spec"]["nodeName"] for p in await env.objects("/api/v1/namespaces/default/pods")
            if p["metadata"]["name"].startswith(ds + "-")
            and not p["metadata"].get("deletionTimestamp")}


async def on_nodes(env: Env, ds: str, want: set[str]) -> None:
    await until(lambda: nodes_with_pods(env, ds), accept=lambda got: got == want,
                message=f"{ds} pods on {sorted(want)}")


def ds_body(name: str, **pod_spec: Any) -> Obj:
    return {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": name},
            "spec": {"selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}}, "spec": {
                         "containers": [{"name": "c", "image": "agent:1"}], **pod_spec}}}}


async def test_node_selector_affinity_and_taints_pick_the_nodes() -> None:
    env = await make_env()
    try:
        await add_node(env, "ssd", {"disk": "ssd", "zone": "a"})
        await add_node(env, "hdd", {"disk": "hdd", "zone": "a"})
        await add_node(env, "ssd-dedicated", {"disk": "ssd", "zone": "b"},
                       [{"key": "dedicated", "value": "db", "effect": "NoSchedule"}])
        await add_node(env, "ssd-cordoned", {"disk": "ssd", "zone": "b"},
                       [{"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}],
                       unschedulable=True)
        await add_node(env, "ssd-unreachable", {"disk": "ssd", "zone": "c"},
                       [{"key": "node.kubernetes.io/unreachable", "effect": "NoExecute"}])
        await env.start(daemonset.build(ControllerContext(env.rt, ControllerManagerOptions())))

        await env.client.create("daemonsets", "default",
                                ds_body("fast", nodeSelector={"disk": "ssd"}))
        await on_nodes(env, "fast", {"ssd", "ssd-cordoned", "ssd-unreachable"})

        affinity = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [
                {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["b"]}]},
                {"matchFields": [{"key": "metadata.name", "operator": "In",
                                  "values": ["hdd"]}]}]}}}
        await env.client.create("daemonsets", "default", ds_body(
            "db", affinity=affinity,
            tolerations=[{"key": "dedicated", "operator": "Equal", "value": "db",
                          "effect": "NoSchedule"}]))
        await on_nodes(env, "db", {"hdd", "ssd-dedicated", "ssd-cordoned"})
        await env.until(lambda: ((env.rt.informers.informer("daemonsets").get(
            "daemonsets.default.db") or {}).get("status") or {}).get(
                "desiredNumberScheduled") == 3)
    finally:
        await env.close()


async def test_running_pod_survives_no_schedule_but_not_an_untolerated_no_execute() -> None:
    env = await make_env()
    try:
        await add_node(env, "n1")
        await env.start(daemonset.build(ControllerContext(env.rt, ControllerManagerOptions())))
        await env.client.create("daemonsets", "default", ds_body("agent"))
        await on_nodes(env, "agent", {"n1"})
        node = await env.client.get("nodes", None, "n1")
        node["spec"]["taints"] = [{"key": "gpu", "effect": "NoSchedule"}]
        await env.client.update("nodes", None, "n1", node)
        await env.settle()
        assert await nodes_with_pods(env, "agent") == {"n1"}  # keeps running
        await env.until(lambda: ((env.rt.informers.informer("daemonsets").get(
            "daemonsets.default.agent") or {}).get("status") or {}).get(
                "numberMisscheduled") == 1)
        node = await env.client.get("nodes", None, "n1")
        node["spec"]["taints"].append({"key": "drain", "effect": "NoExecute"})
        await env.client.update("nodes", None, "n1", node)
        await on_nodes(env, "agent", set())
    finally:
        await env.close()
