"""A pod no node fits waits (no polling) until a change that could help: a node
joins, a node's taint goes, a pod on a full node is deleted; it is retried after its
backoff."""

from __future__ import annotations

from ctrlharness import make_env

from jetkube.services.scheduler.scheduler import Scheduler
from jetkube.services.scheduler.testing import create_node, create_pod, make_node, make_pod


def _node_of(sched: Scheduler, name: str) -> str | None:
    pod = sched.pods.get_by_name("default", name) or {}
    node = (pod.get("spec") or {}).get("nodeName")
    return str(node) if node else None


async def test_a_fitting_node_joining_gets_the_pod_scheduled() -> None:
    env = await make_env()
    sched = await env.start(Scheduler(env.rt))
    await create_node(env.client, make_node("small", cpu="1"))
    await create_pod(env.client, make_pod("big", cpu="2"))
    await env.until(lambda: sched.stats["unschedulable"] == 1)
    await env.clock.advance(30)
    await env.settle()
    assert sched.stats["cycles"] == 1  # no busy retrying while nothing changes
    await create_node(env.client, make_node("large", cpu="4"))
    await env.until(lambda: _node_of(sched, "big") == "large")
    await env.close()


async def test_a_pod_is_retried_after_backoff_when_the_event_comes_early() -> None:
    env = await make_env()
    sched = await env.start(Scheduler(env.rt))
    await create_pod(env.client, make_pod("p"))
    await env.until(lambda: sched.stats["unschedulable"] == 1)
    await create_node(env.client, make_node("n1"))  # moved to backoffQ: 1 s not over yet
    await env.settle()
    assert _node_of(sched, "p") is None
    await env.clock.advance(1.0)
    await env.until(lambda: _node_of(sched, "p") == "n1")
    await env.close()


async def test_removing_a_taint_or_deleting_a_pod_helps_too() -> None:
    env = await make_env()
    sched = await env.start(Scheduler(env.rt))
    taint = [{"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule"}]
    await create_node(env.client, make_node("n1", cpu="1", taints=taint))
    await create_pod(env.client, make_pod("p", cpu="600m"))
    await env.until(lambda: sched.stats["unschedulable"] == 1)
    await env.clock.advance(2)
    node = await env.client.get("nodes", None, "n1")
    node["spec"]["taints"] = []
    await env.client.update("nodes", None, "n1", node)
    await env.until(lambda: _node_of(sched, "p") == "n1")
    await create_pod(env.client, make_pod("q", cpu="600m"))
    await env.until(lambda: sched.stats["unschedulable"] == 2)
    await env.clock.advance(2)
    await env.client.delete("pods", "default", "p", grace_period_seconds=0)
    await env.until(lambda: _node_of(sched, "q") == "n1")
    await env.close()
