"""A restarted node agent adopts the containers its runtime still runs for pods bound to
the node (same container ids, restart count kept, no new starts), removes containers of
pods deleted while it was down, and finishes deletions it had not finished."""

from __future__ import annotations

from typing import Any

from ctrlharness import Env

from jetkube.schemas.objects import Obj
from jetkube.services.kubelet.runtimes.sim import SimRuntime
from jetkube.services.kubelet.testing import TestNode, start_node

PODS = "/api/v1/namespaces/default/pods"


def pod(name: str) -> Obj:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"nodeName": "node-1", "containers": [{"name": "c", "image": "busybox"}]}}


async def settled(env: Env, node: TestNode) -> None:
    await env.settle()
    await node.shared.status.wait_idle()


async def test_restarted_agent_adopts_removes_orphans_and_finishes_deletions(env: Env) -> None:
    sim = SimRuntime("node-1", clock=env.clock)
    first = await start_node(env.rt, runtime=sim)
    for name in ("keep", "orphan", "deleting"):
        await env.api.ok("POST", PODS, pod(name))
    await env.until(lambda: first.reasons().count("Started") == 3)
    # "keep" crashes once: restartCount 1
    cid = first.worker("keep").states["c"].current.id  # type: ignore[union-attr]
    await sim.stop_container(cid, 0)
    await env.until(lambda: first.reasons("keep").count("Started") == 2)
    await settled(env, first)
    before = (await env.api.ok("GET", f"{PODS}/keep"))["status"]["containerStatuses"][0]
    assert before["restartCount"] == 1
    keep_uid = first.worker("keep").uid
    await first.stop()  # the agent goes away; the runtime keeps running its containers

    await env.api.ok("DELETE", f"{PODS}/orphan", query={"gracePeriodSeconds": "0"})
    await env.api.ok("DELETE", f"{PODS}/deleting")  # graceful: waits for the node agent
    running = {c.pod.name for c in await sim.list_containers() if c.state == "running"}
    assert running == {"keep", "orphan", "deleting"}

    created: list[str] = []
    real = sim.create_and_start

    async def spy(sandbox: Any, spec: Any) -> Any:
        created.append(spec.name)
        return await real(sandbox, spec)

    sim.create_and_start = spy  # type: ignore[method-assign]
    second = await start_node(env.rt, runtime=sim)
    for _ in range(100):
        code, _ = await env.api.call("GET", f"{PODS}/deleting")
        if code == 404 and len(await sim.list_sandboxes()) == 1:
            break
        await env.settle()
    assert code == 404
    await settled(env, second)
    left = await sim.list_containers()
    assert {c.pod.name for c in left} == {"keep"}
    assert [s.pod.name for s in await sim.list_sandboxes()] == ["keep"]
    assert created == []  # nothing was started again
    w = second.worker("keep")
    assert w.uid == keep_uid and w.states["c"].current.id == before["containerID"][6:]  # type: ignore[union-attr]
    after = (await env.api.ok("GET", f"{PODS}/keep"))["status"]["containerStatuses"][0]
    assert after["restartCount"] == 1 and after["containerID"] == before["containerID"]
    assert after["lastState"]["terminated"]["exitCode"] == 143
    # the adopted container is watched: its next crash restarts it as attempt 2
    await sim.stop_container(w.states["c"].current.id, 0)  # type: ignore[union-attr]
    await env.until(lambda: created == ["c"])
    await settled(env, second)
    again = (await env.api.ok("GET", f"{PODS}/keep"))["status"]["containerStatuses"][0]
    assert again["restartCount"] == 2
    await second.stop()
