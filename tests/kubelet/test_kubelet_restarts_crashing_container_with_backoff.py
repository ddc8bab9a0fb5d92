"""A crashing container is restarted per restartPolicy with kubelet's backoff: the first
restart at once, then 10 s doubling to a 5 min cap (CrashLoopBackOff while waiting,
restartCount and lastState.terminated kept); a container that ran 10 min restarts at
once again; OnFailure does not restart a success; Never restarts nothing."""

from __future__ import annotations

from ctrlharness import Env

from jetkube.schemas.objects import Obj
from jetkube.services.kubelet.testing import TestNode, start_node

PODS = "/api/v1/namespaces/default/pods"


def pod(name: str, annotations: dict[str, str], policy: str = "Always") -> Obj:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "annotations": annotations},
            "spec": {"nodeName": "node-1", "restartPolicy": policy,
                     "containers": [{"name": "c", "image": "busybox:1.36"}]}}


async def status(env: Env, node: TestNode, name: str) -> Obj:
    await env.settle()
    await node.shared.status.wait_idle()
    return dict((await env.api.ok("GET", f"{PODS}/{name}"))["status"]["containerStatuses"][0])


async def test_crash_loop_backs_off_10s_doubling_to_5min(env: Env) -> None:
    node = await start_node(env.rt)
    await env.api.ok("POST", PODS, pod("crash", {"jetkube.io/sim-exit-after": "1",
                                                 "jetkube.io/sim-exit-code": "2"}))
    await env.until(lambda: "Started" in node.reasons("crash"))
    assert (await status(env, node, "crash"))["restartCount"] == 0
    await env.clock.advance(1)  # exits; the first restart is immediate
    st = await status(env, node, "crash")
    assert st["restartCount"] == 1 and st["state"].get("running")
    assert st["lastState"]["terminated"]["exitCode"] == 2
    assert st["lastState"]["terminated"]["reason"] == "Error"

    expected = [10, 20, 40, 80, 160, 300, 300]
    for n, delay in enumerate(expected, start=2):
        await env.clock.advance(1)  # the restarted container crashes again
        st = await status(env, node, "crash")
        assert st["state"]["waiting"]["reason"] == "CrashLoopBackOff", st
        assert f"back-off {delay}s" in st["state"]["waiting"]["message"] or delay >= 60
        assert st["restartCount"] == n - 1
        assert st["lastState"]["terminated"]["exitCode"] == 2
        assert st["ready"] is False
        await env.clock.advance(delay - 0.5)
        assert (await status(env, node, "crash"))["restartCount"] == n - 1
        await env.clock.advance(0.5)
        st = await status(env, node, "crash")
        assert st["restartCount"] == n and st["state"].get("running"), (delay, st)
    assert "BackOff" in node.reasons("crash")
    p = await env.api.ok("GET", f"{PODS}/crash")
    assert p["status"]["phase"] == "Running"
    await node.stop()


async def test_backoff_resets_after_ten_minutes_of_running(env: Env) -> None:
    node = await start_node(env.rt)
    await env.api.ok("POST", PODS, pod("slow", {"jetkube.io/sim-exit-after": "601"}))
    await env.until(lambda: "Started" in node.reasons("slow"))
    for n in range(1, 4):
        await env.clock.advance(601)
        st = await status(env, node, "slow")
        assert st["restartCount"] == n and st["state"].get("running"), st
    assert "BackOff" not in node.reasons("slow")
    await node.stop()


async def test_restart_policies_on_failure_and_never(env: Env) -> None:
    node = await start_node(env.rt)
    await env.api.ok("POST", PODS, pod("ok", {"jetkube.io/sim-exit-after": "1"}, "OnFailure"))
    await env.api.ok("POST", PODS, pod("bad", {"jetkube.io/sim-exit-after": "1",
                                               "jetkube.io/sim-exit-code": "1"}, "Never"))
    await env.api.ok("POST", PODS, pod("retry", {"jetkube.io/sim-exit-after": "1",
                                                 "jetkube.io/sim-exit-code": "1"}, "OnFailure"))
    await env.until(lambda: node.reasons().count("Started") == 3)
    await env.clock.advance(1)
    await env.settle()
    await node.shared.status.wait_idle()
    pods = {p["metadata"]["name"]: p for p in await env.objects(PODS)}
    assert pods["ok"]["status"]["phase"] == "Succeeded"
    assert pods["ok"]["status"]["containerStatuses"][0]["restartCount"] == 0
    assert pods["bad"]["status"]["phase"] == "Failed"
    assert pods["bad"]["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"] == 1
    assert pods["retry"]["status"]["phase"] == "Running"
    assert pods["retry"]["status"]["containerStatuses"][0]["restartCount"] == 1
    await node.stop()
