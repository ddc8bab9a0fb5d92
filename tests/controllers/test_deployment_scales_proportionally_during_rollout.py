"""Changing spec.replicas resizes the only active ReplicaSet; in the middle of a rollout the
change is spread across the ReplicaSets in proportion to their sizes (Kubernetes' docs
example: 10 replicas, maxSurge 3, maxUnavailable 2, stuck at 8 old + 5 new, scaled to 15
gives 11 old + 7 new)."""

from __future__ import annotations

from workload_helpers import (
    DEPLOY_PATH,
    NS,
    Env,
    deployment,
    drive_rollout,
    events,
    get,
    replicasets,
    rolling,
    running,
    wait_for,
)

from jetkube.services.controllers import deployment_util as du


async def sizes(env: Env) -> dict[str, int]:
    return {rs["metadata"]["annotations"][du.REVISION]: rs["spec"]["replicas"]
            for rs in await replicasets(env)}


async def test_scaling_without_a_rollout_resizes_the_replicaset() -> None:
    async with running(deployment_ctl=True) as env:
        await env.api.ok("POST", DEPLOY_PATH, deployment("web", 3))
        await drive_rollout(env, per_step=3)
        await env.client.patch("deployments", NS, "web", {"spec": {"replicas": 5}})
        await drive_rollout(env, per_step=5)
        [rs] = await replicasets(env)
        ann = rs["metadata"]["annotations"]
        assert (rs["spec"]["replicas"], ann[du.DESIRED_REPLICAS], ann[du.MAX_REPLICAS]) == (
            5, "5", "7")
        await env.client.patch("deployments", NS, "web", {"spec": {"replicas": 1}})
        await drive_rollout(env)
        msgs = [e["message"] for e in await events(env, "ScalingReplicaSet")]
        name = rs["metadata"]["name"]
        assert sorted(msgs) == sorted([f"Scaled up replica set {name} from 0 to 3",
                                       f"Scaled up replica set {name} from 3 to 5",
                                       f"Scaled down replica set {name} from 5 to 1"])


async def test_mid_rollout_scaling_is_proportional() -> None:
    async with running(deployment_ctl=True) as env:
        await env.api.ok("POST", DEPLOY_PATH, deployment("web", 10, strategy=rolling(3, 2)))
        await drive_rollout(env, per_step=10)
        await env.client.patch("deployments", NS, "web", {"spec": {"template": {"spec": {
            "containers": [{"name": "c", "image": "busybox:does-not-start"}]}}}})

        async def stuck() -> bool:
            return await sizes(env) == {"1": 8, "2": 5}

        await wait_for(env, stuck)  # new pods never become ready
        await env.client.patch("deployments", NS, "web", {"spec": {"replicas": 15}})

        async def spread() -> bool:
            return await sizes(env) == {"1": 11, "2": 7}

        await wait_for(env, spread)
        for rs in await replicasets(env):
            assert rs["metadata"]["annotations"][du.DESIRED_REPLICAS] == "15"
            assert rs["metadata"]["annotations"][du.MAX_REPLICAS] == "18"
        # and down to zero: every ReplicaSet goes to 0
        await env.client.patch("deployments", NS, "web", {"spec": {"replicas": 0}})

        async def zero() -> bool:
            return await sizes(env) == {"1": 0, "2": 0}

        await wait_for(env, zero)
        assert (await get(env, "deployments", "web"))["spec"]["replicas"] == 0


def test_proportion_rounds_half_away_from_zero() -> None:
    assert [du.round_half_away(x) for x in (0.5, 1.5, 2.5, -0.5, -2.5, 2.4)] == [
        1, 2, 3, -1, -3, 2]
