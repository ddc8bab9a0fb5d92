"""A burst of pods created at once: assumed pods count against their node before
their binds are seen, so no node ever gets more than it can hold."""

from __future__ import annotations

from ctrlharness import make_env

from jetkube.schemas import cpu_millis
from jetkube.services.scheduler.scheduler import Scheduler
from jetkube.services.scheduler.testing import create_node, create_pod, make_node, make_pod


async def test_a_burst_fills_nodes_exactly_to_their_allocatable() -> None:
    env = await make_env()
    sched = await env.start(Scheduler(env.rt))
    for i in range(3):
        await create_node(env.client, make_node(f"n{i}", cpu="1", pods="110"))
    await env.settle()
    # make every bind slow, so all cycles run before any bind is observed
    real_bind = env.client.bind

    async def slow_bind(*a: object, **kw: object) -> dict:  # type: ignore[type-arg]
        await env.settle(5)
        return await real_bind(*a, **kw)  # type: ignore[arg-type]

    env.client.bind = slow_bind  # type: ignore[method-assign]
    for i in range(10):
        await create_pod(env.client, make_pod(f"p{i}", cpu="300m"))
    await env.until(lambda: sched.stats["scheduled"] == 9 and sched.stats["unschedulable"] >= 1)
    await env.settle()
    pods = await env.objects("/api/v1/namespaces/default/pods")
    per_node: dict[str, int] = {}
    for p in pods:
        node = p["spec"].get("nodeName")
        if node:
            req = p["spec"]["containers"][0]["resources"]["requests"]["cpu"]
            per_node[node] = per_node.get(node, 0) + cpu_millis(req)
    assert per_node == {"n0": 900, "n1": 900, "n2": 900}
    waiting = [p for p in pods if not p["spec"].get("nodeName")]
    assert len(waiting) == 1
    await env.close()


async def test_the_pod_count_limit_holds_in_a_burst() -> None:
    env = await make_env()
    sched = await env.start(Scheduler(env.rt))
    await create_node(env.client, make_node("tiny", pods="2"))
    for i in range(4):
        await create_pod(env.client, make_pod(f"p{i}"))
    await env.until(lambda: sched.stats["scheduled"] == 2 and sched.stats["unschedulable"] >= 2)
    assert sched.cache.nodes["tiny"].pod_count == 2
    await env.close()
