"""An unschedulable pod gets PodScheduled=False/Unschedulable with Kubernetes'
message through the status subresource, and a FailedScheduling event."""

from __future__ import annotations

from ctrlharness import make_env

from jetkube.services.scheduler.scheduler import Scheduler
from jetkube.services.scheduler.testing import create_node, create_pod, make_node, make_pod

MESSAGE = ("0/3 nodes are available: 1 node(s) had untolerated taint {dedicated: infra}, "
           "2 Insufficient cpu.")


async def test_condition_and_event_say_why() -> None:
    env = await make_env()
    sched = await env.start(Scheduler(env.rt))
    await create_node(env.client, make_node("small1", cpu="1"))
    await create_node(env.client, make_node("small2", cpu="1"))
    await create_node(env.client, make_node("infra", cpu="8", taints=[
        {"key": "dedicated", "value": "infra", "effect": "NoSchedule"}]))
    await create_pod(env.client, make_pod("big", cpu="2"))

    def condition() -> dict | None:  # type: ignore[type-arg]
        pod = sched.pods.get_by_name("default", "big")
        for c in ((pod or {}).get("status") or {}).get("conditions") or ():
            if c["type"] == "PodScheduled":
                return c  # type: ignore[no-any-return]
        return None

    await env.until(lambda: condition() is not None)
    cond = condition()
    assert cond is not None
    assert (cond["status"], cond["reason"], cond["message"]) == ("False", "Unschedulable", MESSAGE)
    await env.rt.events.flush()
    events = await env.objects("/api/v1/namespaces/default/events")
    failed = [e for e in events if e["reason"] == "FailedScheduling"]
    assert failed and failed[0]["message"] == MESSAGE and failed[0]["type"] == "Warning"
    assert failed[0]["involvedObject"]["name"] == "big"
    assert sched.queue.counts()["unschedulable"] == 1
    await env.close()


async def test_no_nodes_at_all_is_said_plainly() -> None:
    env = await make_env()
    sched = await env.start(Scheduler(env.rt))
    await create_pod(env.client, make_pod("p"))

    def message() -> str:
        pod = sched.pods.get_by_name("default", "p") or {}
        conds = (pod.get("status") or {}).get("conditions") or []
        return next((c.get("message", "") for c in conds if c["type"] == "PodScheduled"), "")

    await env.until(lambda: message() == "no nodes available to schedule pods")
    await env.close()
