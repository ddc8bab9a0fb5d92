"""The readiness probe decides a container's ready flag and the pod's ContainersReady and
Ready conditions: not ready until it passes successThreshold times, unready after
failureThreshold failures (an Unhealthy event each), ready again when it recovers;
initialDelaySeconds is honoured; a startup probe holds readiness back until it passes."""

from __future__ import annotations

from ctrlharness import Env

from jetkube.schemas.objects import Obj
from jetkube.services.kubelet.testing import TestNode, start_node

PODS = "/api/v1/namespaces/default/pods"


def pod(name: str, **probes: Obj) -> Obj:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"nodeName": "node-1",
                     "containers": [{"name": "c", "image": "busybox:1.36", **probes}]}}


async def ready(env: Env, node: TestNode, name: str) -> tuple[bool, str, str]:
    await env.settle()
    await node.shared.status.wait_idle()
    st = (await env.api.ok("GET", f"{PODS}/{name}"))["status"]
    conds = {c["type"]: c["status"] for c in st["conditions"]}
    return st["containerStatuses"][0]["ready"], conds["ContainersReady"], conds["Ready"]


async def test_readiness_probe_sets_ready_and_the_pod_conditions(env: Env) -> None:
    node = await start_node(env.rt)
    probe = {"exec": {"command": ["true"]}, "initialDelaySeconds": 5, "periodSeconds": 10,
             "successThreshold": 2, "failureThreshold": 2}
    await env.api.ok("POST", PODS, pod("web", readinessProbe=probe))
    await env.until(lambda: "Started" in node.reasons("web"))
    uid = node.worker("web").uid
    assert await ready(env, node, "web") == (False, "False", "False")
    await env.clock.advance(5)  # first success: one of two
    assert await ready(env, node, "web") == (False, "False", "False")
    await env.clock.advance(10)
    assert await ready(env, node, "web") == (True, "True", "True")

    node.runtime.set_probe(uid, "c", "readiness", False)
    await env.clock.advance(10)  # one failure of two: still ready
    assert await ready(env, node, "web") == (True, "True", "True")
    assert node.reasons("web").count("Unhealthy") == 1
    await env.clock.advance(10)
    assert await ready(env, node, "web") == (False, "False", "False")
    p = await env.api.ok("GET", f"{PODS}/web")
    assert p["status"]["phase"] == "Running"  # unready is not dead
    assert p["status"]["containerStatuses"][0]["restartCount"] == 0

    node.runtime.set_probe(uid, "c", "readiness", None)
    await env.clock.advance(20)
    assert await ready(env, node, "web") == (True, "True", "True")
    await node.stop()


async def test_container_without_probe_is_ready_once_running(env: Env) -> None:
    node = await start_node(env.rt)
    await env.api.ok("POST", PODS, pod("plain"))
    await env.until(lambda: "Started" in node.reasons("plain"))
    assert await ready(env, node, "plain") == (True, "True", "True")
    await node.stop()


async def test_startup_probe_holds_readiness_back(env: Env) -> None:
    node = await start_node(env.rt)
    await env.api.ok("POST", PODS, pod(
        "slow", startupProbe={"exec": {"command": ["true"]}, "periodSeconds": 5, "initialDelaySeconds": 1,
                              "failureThreshold": 10},
        readinessProbe={"exec": {"command": ["true"]}, "periodSeconds": 5}))
    await env.until(lambda: "Started" in node.reasons("slow"))
    uid = node.worker("slow").uid
    node.runtime.set_probe(uid, "c", "startup", False)
    await env.clock.advance(20)
    st = (await env.api.ok("GET", f"{PODS}/slow"))["status"]["containerStatuses"][0]
    assert st["started"] is False and st["ready"] is False
    node.runtime.set_probe(uid, "c", "startup", None)
    await env.clock.advance(5)  # startup passes, then readiness runs
    await env.clock.advance(0)
    assert await ready(env, node, "slow") == (True, "True", "True")
    st = (await env.api.ok("GET", f"{PODS}/slow"))["status"]["containerStatuses"][0]
    assert st["started"] is True
    await node.stop()
