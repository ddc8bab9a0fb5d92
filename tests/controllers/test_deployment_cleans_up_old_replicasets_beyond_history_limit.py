"""Old ReplicaSets scaled to zero beyond revisionHistoryLimit are deleted, oldest revision
first, once the rollout is complete; ReplicaSets that still have pods are kept."""

from __future__ import annotations

from workload_helpers import (
    DEPLOY_PATH,
    NS,
    deployment,
    drive_rollout,
    replicasets,
    running,
    wait_for,
)

from jetkube.services.controllers import deployment_util as du


async def test_keeps_only_the_newest_old_replicasets() -> None:
    async with running(deployment_ctl=True) as env:
        await env.api.ok("POST", DEPLOY_PATH, deployment("web", 2, revisionHistoryLimit=1))
        await drive_rollout(env, per_step=2)
        for image in ("busybox:1.37", "busybox:1.38", "busybox:1.39"):
            await env.client.patch("deployments", NS, "web", {"spec": {"template": {"spec": {
                "containers": [{"name": "c", "image": image}]}}}})
            await drive_rollout(env)

        async def pruned() -> bool:
            revs = sorted(rs["metadata"]["annotations"][du.REVISION]
                          for rs in await replicasets(env))
            return revs == ["3", "4"]

        await wait_for(env, pruned)
        by_rev = {rs["metadata"]["annotations"][du.REVISION]: rs for rs in await replicasets(env)}
        assert by_rev["3"]["spec"]["replicas"] == 0 and by_rev["4"]["spec"]["replicas"] == 2
