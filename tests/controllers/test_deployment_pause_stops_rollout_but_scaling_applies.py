"""While spec.paused is true a template change rolls nothing out (Progressing is Unknown,
DeploymentPaused) but a change of replicas still applies; resuming rolls the template out."""

from __future__ import annotations

from workload_helpers import (
    DEPLOY_PATH,
    NS,
    Env,
    conditions,
    deployment,
    drive_rollout,
    get,
    pods,
    replicasets,
    running,
    wait_for,
)

from jetkube.services.controllers import deployment_util as du


async def progressing(env: Env) -> tuple[str, str]:
    c = conditions(await get(env, "deployments", "web")).get("Progressing", {})
    return c.get("status", ""), c.get("reason", "")


async def test_paused_scales_but_does_not_roll_out_until_resumed() -> None:
    async with running(deployment_ctl=True) as env:
        await env.api.ok("POST", DEPLOY_PATH, deployment("web", 2))
        await drive_rollout(env, per_step=2)
        await env.client.patch("deployments", NS, "web", {"spec": {"paused": True}})

        async def paused() -> bool:
            return await progressing(env) == ("Unknown", "DeploymentPaused")

        await wait_for(env, paused)
        await env.client.patch("deployments", NS, "web", {"spec": {
            "replicas": 4, "template": {"spec": {"containers": [
                {"name": "c", "image": "busybox:1.37"}]}}}})

        async def four() -> bool:
            return len(await pods(env)) == 4

        await wait_for(env, four)
        await env.clock.advance(5)
        await env.settle()
        [rs] = await replicasets(env)  # no new ReplicaSet while paused
        assert rs["spec"]["replicas"] == 4
        assert {p["spec"]["containers"][0]["image"] for p in await pods(env)} == {"busybox:1.36"}
        assert await progressing(env) == ("Unknown", "DeploymentPaused")

        await env.client.patch("deployments", NS, "web", {"spec": {"paused": False}})
        await drive_rollout(env)
        assert {p["spec"]["containers"][0]["image"] for p in await pods(env)} == {"busybox:1.37"}
        assert (await get(env, "deployments", "web"))["metadata"]["annotations"][
            du.REVISION] == "2"
        assert await progressing(env) == ("True", "NewReplicaSetAvailable")
