"""RollingUpdate: a template change replaces daemon pods at most maxUnavailable nodes at a
time, each new pod once the old one is gone; OnDelete leaves old pods alone."""

from __future__ import annotations

from ctrlharness import Env, make_env
from polling import until

from jetkube.schemas.objects import Obj
from jetkube.services.controllers import daemonset
from jetkube.services.controllers.context import ControllerContext, ControllerManagerOptions


async def pods(env: Env) -> list[Obj]:
    return await env.objects("/api/v1/namespaces/default/pods")


async def agent(env: Env) -> None:
    """Node agents: finish deletions, run and ready new pods."""
    for p in await pods(env):
        md = p["metadata"]
        if md.get("deletionTimestamp"):
            await env.client.delete("pods", "default", md["name"], grace_period_seconds=0)
        elif p["status"].get("phase") == "Pending":
            p["status"] = {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}
            await env.client.update_status("pods", "default", md["name"], p)
    await env.settle()


def images(items: list[Obj]) -> list[str]:
    return sorted(p["spec"]["containers"][0]["image"] for p in items
                  if not p["metadata"].get("deletionTimestamp"))


async def setup(env: Env, strategy: Obj) -> None:
    for n in ("n1", "n2", "n3", "n4"):
        await env.client.create("nodes", None, {"apiVersion": "v1", "kind": "Node",
                                                "metadata": {"name": n}})
    await env.start(daemonset.build(ControllerContext(env.rt, ControllerManagerOptions())))
    await env.client.create("daemonsets", "default", {
        "apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent"},
        "spec": {"selector": {"matchLabels": {"app": "agent"}}, "updateStrategy": strategy,
                 "template": {"metadata": {"labels": {"app": "agent"}}, "spec": {
                     "containers": [{"name": "c", "image": "agent:1"}]}}}})
    async def running() -> int:
        await agent(env)
        return len([p for p in await pods(env) if p["status"].get("phase") == "Running"])
    await until(running, accept=lambda n: n == 4, message="4 agent pods Running")
    ds = await env.client.get("daemonsets", "default", "agent")
    ds["spec"]["template"]["spec"]["containers"][0]["image"] = "agent:2"
    await env.client.update("daemonsets", "default", "agent", ds)
    await env.settle()


async def test_rolling_update_replaces_at_most_max_unavailable_at_a_time() -> None:
    env = await make_env()
    try:
        await setup(env, {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 2}})
        seen: list[list[str]] = []
        done = (["agent:2"] * 4, 4)

        async def step() -> tuple[list[str], int]:
            """Check the invariant, then let the agents act (unless the rollout is done)."""
            items = await pods(env)
            live = images(items)
            seen.append(live)
            ready = sum(1 for p in items if not p["metadata"].get("deletionTimestamp")
                        and p["status"].get("phase") == "Running")
            assert ready >= 2, f"more than maxUnavailable down: {items}"
            if (live, ready) != done:
                await agent(env)
            return live, ready
        await until(step, accept=lambda got: got == done, message="the rollout finished")
        assert ["agent:1", "agent:1", "agent:2", "agent:2"] in seen  # it went two at a time
        await env.until(lambda: ((env.rt.informers.informer("daemonsets").get(
            "daemonsets.default.agent") or {}).get("status") or {}).get(
                "updatedNumberScheduled") == 4)
        st = (await env.client.get("daemonsets", "default", "agent"))["status"]
        assert st["observedGeneration"] == 2 and st["numberAvailable"] == 4
    finally:
        await env.close()


async def test_on_delete_keeps_old_pods_until_they_are_deleted() -> None:
    env = await make_env()
    try:
        await setup(env, {"type": "OnDelete"})
        await agent(env)
        assert images(await pods(env)) == ["agent:1"] * 4
        await env.until(lambda: ((env.rt.informers.informer("daemonsets").get(
            "daemonsets.default.agent") or {}).get("status") or {}).get(
                "observedGeneration") == 2)
        victim = (await pods(env))[0]
        await env.client.delete("pods", "default", victim["metadata"]["name"])
        async def replaced() -> list[str]:
            await agent(env)
            return images(await pods(env))
        await until(replaced, accept=lambda got: got == ["agent:1"] * 3 + ["agent:2"],
                    message="only the deleted pod replaced")
    finally:
        await env.close()
