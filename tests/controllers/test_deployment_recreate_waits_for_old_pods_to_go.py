"""Recreate scales every old ReplicaSet to zero and creates the new one only when no old pod
is left (terminating pods included), then scales it straight to spec.replicas."""

from __future__ import annotations

from workload_helpers import (
    DEPLOY_PATH,
    NS,
    deployment,
    events,
    get,
    make_ready,
    pods,
    replicasets,
    running,
    wait_for,
)

from jetkube.services.controllers import deployment_util as du


async def test_new_pods_only_after_the_old_are_gone() -> None:
    async with running(deployment_ctl=True) as env:
        await env.api.ok("POST", DEPLOY_PATH, deployment("web", 3, strategy={"type": "Recreate"}))

        async def three() -> bool:
            return len(await pods(env)) == 3

        await wait_for(env, three)
        for p in await pods(env):
            await make_ready(env, p, node="n1")  # bound: deletions are graceful
        [old] = await replicasets(env)
        await env.client.patch("deployments", NS, "web", {"spec": {"template": {"spec": {
            "containers": [{"name": "c", "image": "busybox:1.37"}]}}}})

        async def old_scaled_down() -> bool:
            return (await get(env, "replicasets", old["metadata"]["name"]))["spec"][
                "replicas"] == 0 and len(await pods(env)) == 0

        await wait_for(env, old_scaled_down)
        await env.settle()
        terminating = await pods(env, active_only=False)
        assert len(terminating) == 3 and all(p["metadata"]["deletionTimestamp"]
                                             for p in terminating)
        assert len(await replicasets(env)) == 1  # no new ReplicaSet while old pods remain
        for p in terminating[:2]:
            await env.client.delete("pods", NS, p["metadata"]["name"], grace_period_seconds=0)
        await env.settle()
        assert len(await replicasets(env)) == 1
        await env.client.delete("pods", NS, terminating[2]["metadata"]["name"],
                                grace_period_seconds=0)

        async def new_running() -> bool:
            ps = await pods(env)
            return len(ps) == 3 and all(p["spec"]["containers"][0]["image"] == "busybox:1.37"
                                        for p in ps)

        await wait_for(env, new_running)
        new = [rs for rs in await replicasets(env) if rs["metadata"]["uid"] != old["metadata"]["uid"]]
        assert new[0]["spec"]["replicas"] == 3
        assert new[0]["metadata"]["annotations"][du.REVISION] == "2"
        msgs = [e["message"] for e in await events(env, "ScalingReplicaSet")]
        assert f"Scaled down replica set {old['metadata']['name']} from 3 to 0" in msgs
        assert f"Scaled up replica set {new[0]['metadata']['name']} from 0 to 3" in msgs
