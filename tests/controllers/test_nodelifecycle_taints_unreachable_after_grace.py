"""A node whose lease stops being renewed goes Ready=Unknown and gets the unreachable taints
after the grace period (fake time); its pods are marked not ready; the taints go when it is
heard from again.  A node reporting Ready=False gets the not-ready taints."""

from __future__ import annotations

from typing import Any

from ctrlharness import Env, make_env

from jetkube.schemas import format_micro_time, format_time
from jetkube.schemas.objects import Obj
from jetkube.services.controllers import nodelifecycle
from jetkube.services.controllers.context import ControllerContext, ControllerManagerOptions

UNREACHABLE = "node.kubernetes.io/unreachable"
NOT_READY = "node.kubernetes.io/not-ready"


async def add_node(env: Env, name: str, ready: str = "True") -> None:
    now = format_time(env.clock.now())
    await env.client.create("nodes", None, {
        "apiVersion": "v1", "kind": "Node", "metadata": {"name": name},
        "status": {"conditions": [{"type": "Ready", "status": ready, "reason": "KubeletReady",
                                   "lastHeartbeatTime": now, "lastTransitionTime": now}]}})
    await env.client.create("leases", "kube-node-lease", {
        "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
        "metadata": {"name": name, "namespace": "kube-node-lease"},
        "spec": {"holderIdentity": name, "leaseDurationSeconds": 40,
                 "renewTime": format_micro_time(env.clock.now())}})


async def renew(env: Env, name: str) -> None:
    lease = await env.client.get("leases", "kube-node-lease", name)
    lease["spec"]["renewTime"] = format_micro_time(env.clock.now())
    await env.client.update("leases", "kube-node-lease", name, lease)


async def running_pod(env: Env, name: str, node: str) -> None:
    pod = await env.client.create("pods", "default", {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
        "spec": {"nodeName": node, "containers": [{"name": "c", "image": "busybox"}]}})
    pod["status"] = {"phase": "Running",
                     "conditions": [{"type": "Ready", "status": "True"}]}
    await env.client.update_status("pods", "default", name, pod)


async def node(env: Env, name: str) -> Obj:
    return await env.client.get("nodes", None, name)


def ready_status(n: Obj) -> str:
    return str(next(c["status"] for c in n["status"]["conditions"] if c["type"] == "Ready"))


def taints(n: Obj) -> set[tuple[str, str]]:
    return {(t["key"], t["effect"]) for t in n["spec"].get("taints") or []}


async def start(env: Env, **opts: Any) -> None:
    ctx = ControllerContext(env.rt, ControllerManagerOptions(**opts))
    await env.start(nodelifecycle.build(ctx))
    await env.settle()


async def test_silent_node_goes_unknown_and_tainted_after_grace_then_recovers() -> None:
    env = await make_env()
    try:
        await add_node(env, "n1")
        await running_pod(env, "p1", "n1")
        await start(env, node_monitor_period=5, node_monitor_grace_period=50)
        await env.clock.advance(40)
        await renew(env, "n1")  # heard from at t=40: healthy until t=90
        await env.settle()
        await env.clock.advance(45)
        await env.settle()
        n = await node(env, "n1")
        assert ready_status(n) == "True" and not taints(n)
        await env.clock.advance(10)  # t=95: silent for 55 s > 50 s
        await env.settle()
        n = await node(env, "n1")
        ready = next(c for c in n["status"]["conditions"] if c["type"] == "Ready")
        assert ready["status"] == "Unknown"
        assert ready["reason"] == "NodeStatusUnknown"
        assert ready["message"] == "Kubelet stopped posting node status."
        assert taints(n) == {(UNREACHABLE, "NoSchedule"), (UNREACHABLE, "NoExecute")}
        noexec = next(t for t in n["spec"]["taints"] if t["effect"] == "NoExecute")
        assert noexec["timeAdded"].startswith("2024-01-01T00:01:3")  # fake time, ~t=90..95
        pod = await env.client.get("pods", "default", "p1")
        assert [c["status"] for c in pod["status"]["conditions"] if c["type"] == "Ready"] == \
            ["False"]

        # the kubelet comes back: it posts Ready=True with a new heartbeat
        n["status"]["conditions"] = [{
            "type": "Ready", "status": "True", "reason": "KubeletReady",
            "lastHeartbeatTime": format_time(env.clock.now()),
            "lastTransitionTime": format_time(env.clock.now())}]
        await env.client.update_status("nodes", None, "n1", n)
        await renew(env, "n1")
        await env.settle()
        await env.clock.advance(1)
        await env.settle()
        assert not taints(await node(env, "n1"))
    finally:
        await env.close()


async def test_node_reporting_not_ready_gets_not_ready_taints() -> None:
    env = await make_env()
    try:
        await add_node(env, "sick", ready="False")
        await add_node(env, "fine")
        await start(env)
        await env.settle()
        await env.clock.advance(1)
        await env.settle()
        assert taints(await node(env, "sick")) == {(NOT_READY, "NoSchedule"),
                                                   (NOT_READY, "NoExecute")}
        assert not taints(await node(env, "fine"))
        assert ready_status(await node(env, "sick")) == "False"  # the kubelet's word stands
    finally:
        await env.close()


async def test_cordoned_node_gets_unschedulable_taint_and_other_taints_are_kept() -> None:
    env = await make_env()
    try:
        await add_node(env, "n1")
        n = await node(env, "n1")
        n["spec"] = {"unschedulable": True,
                     "taints": [{"key": "dedicated", "value": "db", "effect": "NoSchedule"}]}
        await env.client.update("nodes", None, "n1", n)
        await start(env)
        await env.clock.advance(1)
        await env.settle()
        assert taints(await node(env, "n1")) == {("dedicated", "NoSchedule"),
                                                 ("node.kubernetes.io/unschedulable",
                                                  "NoSchedule")}
        n = await node(env, "n1")
        n["spec"]["unschedulable"] = False
        await env.client.update("nodes", None, "n1", n)
        await env.settle()
        await env.clock.advance(1)
        await env.settle()
        assert taints(await node(env, "n1")) == {("dedicated", "NoSchedule")}
    finally:
        await env.close()


async def test_grace_period_is_an_option() -> None:
    env = await make_env()
    try:
        await add_node(env, "n1")
        await start(env, node_monitor_period=1, node_monitor_grace_period=4)
        await env.clock.advance(3.5)
        await env.settle()
        assert ready_status(await node(env, "n1")) == "True"
        await env.clock.advance(1.5)
        await env.settle()
        n = await node(env, "n1")
        assert ready_status(n) == "Unknown"
        assert (UNREACHABLE, "NoExecute") in taints(n)
    finally:
        await env.close()


async def test_lease_renewals_cost_no_reconcile_only_the_grace_timer_does() -> None:
    env = await make_env()
    try:
        await add_node(env, "n1")
        opts = ControllerManagerOptions(node_monitor_grace_period=50)
        ctl = nodelifecycle.build(ControllerContext(env.rt, opts))
        await env.start(ctl)
        await env.settle()
        before = ctl.monitor.controller.reconciles
        for _ in range(20):  # a renewal every 10 s for 200 s
            await env.clock.advance(10)
            await renew(env, "n1")
            await env.settle()
        assert ready_status(await node(env, "n1")) == "True"
        # one check each time the grace would have run out (~every 50 s), not one per renewal
        assert ctl.monitor.controller.reconciles - before <= 5
    finally:
        await env.close()
