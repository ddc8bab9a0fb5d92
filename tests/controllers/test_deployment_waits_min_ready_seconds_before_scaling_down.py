"""With minReadySeconds a new pod counts as available only after being ready that long, so a
rolling update with maxUnavailable 0 scales old pods down only then (the ReplicaSet
controller's requeue on the clock moves it, no polling)."""

from __future__ import annotations

from workload_helpers import (
    DEPLOY_PATH,
    NS,
    Env,
    deployment,
    drive_rollout,
    make_ready,
    pods,
    replicasets,
    rolling,
    running,
    wait_for,
)

from jetkube.services.controllers.deployment_util import REVISION


async def replica_counts(env: Env) -> list[int]:
    """spec.replicas of the old and the new ReplicaSet."""
    by_rev = {rs["metadata"]["annotations"][REVISION]: rs["spec"]["replicas"]
              for rs in await replicasets(env)}
    return [by_rev.get("1", 0), by_rev.get("2", 0)]


async def test_old_pods_go_only_after_new_ones_are_available() -> None:
    async with running(deployment_ctl=True) as env:
        await env.api.ok("POST", DEPLOY_PATH, deployment("web", 2, strategy=rolling(1, 0),
                                                         minReadySeconds=5))
        await drive_rollout(env, per_step=2)  # drive_rollout advances the clock when idle
        await env.client.patch("deployments", NS, "web", {"spec": {"template": {"spec": {
            "containers": [{"name": "c", "image": "busybox:1.37"}]}}}})

        async def surged() -> bool:
            return await replica_counts(env) == [2, 1] and len(await pods(env)) == 3

        await wait_for(env, surged)
        new = [p for p in await pods(env) if p["spec"]["containers"][0]["image"] == "busybox:1.37"]
        await make_ready(env, new[0])
        await env.clock.advance(4)
        await env.settle()
        assert await replica_counts(env) == [2, 1]  # ready 4 s: not available yet
        await env.clock.advance(1)

        async def stepped() -> bool:
            return (await replica_counts(env))[0] == 1

        await wait_for(env, stepped)
