"""A DaemonSet runs one pod per node: a joining node gets one, a leaving node's pod goes,
a node that stops matching the nodeSelector loses it; the status counts follow."""

from __future__ import annotations

from typing import Any

from ctrlharness import Env, make_env
from polling import until

from jetkube.schemas.objects import Obj
from jetkube.services.controllers import daemonset
from jetkube.services.controllers.context import ControllerContext, ControllerManagerOptions


def ds_body(name: str, **pod_spec: Any) -> Obj:
    return {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": name},
            "spec": {"selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}}, "spec": {
                         "containers": [{"name": "c", "image": "agent:1"}], **pod_spec}}}}


async def add_node(env: Env, name: str, labels: dict[str, str] | None = None) -> None:
    await env.client.create("nodes", None, {"apiVersion": "v1", "kind": "Node", "metadata": {
        "name": name, "labels": {"kubernetes.io/hostname": name, **(labels or {})}}})


async def live_pods(env: Env) -> dict[str, Obj]:
    """Pods not being deleted, by node."""
    out: dict[str, Obj] = {}
    for p in await env.objects("/api/v1/namespaces/default/pods"):
        if not p["metadata"].get("deletionTimestamp"):
            assert p["spec"]["nodeName"] not in out, "two pods on one node"
            out[p["spec"]["nodeName"]] = p
    return out


async def agent(env: Env) -> None:
    """What node agents would do: finish deletions, run pods and report them ready."""
    for p in await env.objects("/api/v1/namespaces/default/pods"):
        md = p["metadata"]
        if md.get("deletionTimestamp"):
            await env.client.delete("pods", "default", md["name"], grace_period_seconds=0)
        elif p["status"].get("phase") == "Pending":
            p["status"] = {"phase": "Running", "conditions": [
                {"type": "Ready", "status": "True", "lastTransitionTime": "2024-01-01T00:00:00Z"}]}
            await env.client.update_status("pods", "default", md["name"], p)
    await env.settle()


async def until_nodes(env: Env, nodes: set[str]) -> dict[str, Obj]:
    return await until(lambda: live_pods(env), accept=lambda got: set(got) == nodes,
                       message=f"pods on {sorted(nodes)}")


def status(env: Env, name: str) -> Obj:
    return (env.rt.informers.informer("daemonsets").get(f"daemonsets.default.{name}")
            or {}).get("status") or {}


async def test_pods_follow_nodes_joining_leaving_and_changing_labels() -> None:
    env = await make_env()
    try:
        await add_node(env, "n1", {"role": "worker"})
        await add_node(env, "n2", {"role": "worker"})
        await env.start(daemonset.build(ControllerContext(env.rt, ControllerManagerOptions())))
        ds = await env.client.create("daemonsets", "default",
                                     ds_body("agent", nodeSelector={"role": "worker"}))
        pods = await until_nodes(env, {"n1", "n2"})
        p = pods["n1"]
        assert p["metadata"]["generateName"] == "agent-"
        assert p["metadata"]["ownerReferences"][0]["uid"] == ds["metadata"]["uid"]
        assert p["metadata"]["labels"]["controller-revision-hash"]
        tolerated = {(t["key"], t["effect"], t.get("tolerationSeconds"))
                     for t in p["spec"]["tolerations"]}
        assert ("node.kubernetes.io/unreachable", "NoExecute", None) in tolerated
        assert ("node.kubernetes.io/not-ready", "NoExecute", None) in tolerated
        assert ("node.kubernetes.io/unschedulable", "NoSchedule", None) in tolerated
        await env.until(lambda: status(env, "agent").get("currentNumberScheduled") == 2)
        await agent(env)
        await env.until(lambda: status(env, "agent").get("numberAvailable") == 2)
        st = status(env, "agent")
        assert st["desiredNumberScheduled"] == 2 and st["numberReady"] == 2
        assert st["updatedNumberScheduled"] == 2 and st["numberMisscheduled"] == 0
        assert st["observedGeneration"] == 1 and st["numberUnavailable"] == 0

        await add_node(env, "n3", {"role": "worker"})  # joins
        await until_nodes(env, {"n1", "n2", "n3"})
        await add_node(env, "other")  # does not match the nodeSelector
        await env.settle()
        assert set(await live_pods(env)) == {"n1", "n2", "n3"}

        await env.client.delete("nodes", None, "n2")  # leaves: its pod goes without an agent
        await until_nodes(env, {"n1", "n3"})
        assert "n2" not in {p["spec"]["nodeName"]
                            for p in await env.objects("/api/v1/namespaces/default/pods")}

        n3 = await env.client.get("nodes", None, "n3")  # no longer matches
        n3["metadata"]["labels"]["role"] = "db"
        await env.client.update("nodes", None, "n3", n3)
        await until_nodes(env, {"n1"})
        await agent(env)
        await env.until(lambda: status(env, "agent").get("desiredNumberScheduled") == 1
                        and status(env, "agent").get("currentNumberScheduled") == 1)
    finally:
        await env.close()


async def test_failed_daemon_pod_is_replaced() -> None:
    env = await make_env()
    try:
        await add_node(env, "n1")
        await env.start(daemonset.build(ControllerContext(env.rt, ControllerManagerOptions())))
        await env.client.create("daemonsets", "default", ds_body("agent"))
        first = (await until_nodes(env, {"n1"}))["n1"]
        first["status"] = {"phase": "Failed"}
        await env.client.update_status("pods", "default", first["metadata"]["name"], first)
        await env.settle()
        await agent(env)  # finishes the deletion of the failed pod
        await until(lambda: live_pods(env), message="the failed pod replaced",
                    accept=lambda pods: pods and pods["n1"]["metadata"]["name"] != first["metadata"]["name"])
    finally:
        await env.close()


async def test_pod_counts_as_available_min_ready_seconds_after_ready() -> None:
    env = await make_env()
    try:
        await add_node(env, "n1")
        await env.start(daemonset.build(ControllerContext(env.rt, ControllerManagerOptions())))
        body = ds_body("agent")
        body["spec"]["minReadySeconds"] = 10
        await env.client.create("daemonsets", "default", body)
        pod = (await until_nodes(env, {"n1"}))["n1"]
        pod["status"] = {"phase": "Running", "conditions": [
            {"type": "Ready", "status": "True", "lastTransitionTime": "2024-01-01T00:00:00Z"}]}
        await env.client.update_status("pods", "default", pod["metadata"]["name"], pod)
        await env.until(lambda: status(env, "agent").get("numberReady") == 1)
        assert status(env, "agent")["numberAvailable"] == 0
        assert status(env, "agent")["numberUnavailable"] == 1
        await env.clock.advance(10.5)  # the fake clock started at 2024-01-01T00:00:00Z
        await env.until(lambda: status(env, "agent").get("numberAvailable") == 1)
    finally:
        await env.close()
