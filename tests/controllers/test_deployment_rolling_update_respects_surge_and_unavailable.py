"""A rolling update keeps, at every pod change, at most replicas + maxSurge pods and at
least replicas - maxUnavailable ready ones; maxSurge rounds up and maxUnavailable down."""

from __future__ import annotations

import pytest
from workload_helpers import (
    DEPLOY_PATH,
    NS,
    PodWatcher,
    deployment,
    drive_rollout,
    events,
    get,
    pods,
    replicasets,
    rolling,
    running,
)

from jetkube.services.controllers import deployment_util as du


@pytest.mark.parametrize(("replicas", "surge", "unavailable", "want"), [
    (10, "25%", "25%", (3, 2)),
    (3, "25%", "25%", (1, 0)),
    (1, "25%", "25%", (1, 0)),
    (4, 0, "10%", (0, 1)),   # both resolve to 0: one may be unavailable
    (5, 2, 7, (2, 5)),       # unavailable is capped at replicas
    (0, "50%", "50%", (0, 0)),
])
def test_fenceposts_round_like_kubernetes(replicas: int, surge: int | str,
                                          unavailable: int | str, want: tuple[int, int]) -> None:
    d = deployment("web", replicas, strategy=rolling(surge, unavailable))
    assert (du.max_surge(d), du.max_unavailable(d)) == want


@pytest.mark.parametrize(("replicas", "surge", "unavailable"), [
    (4, 1, 1), (5, 2, 0), (6, 0, 2), (10, "25%", "25%")])
async def test_rollout_stays_within_surge_and_unavailable(
        replicas: int, surge: int | str, unavailable: int | str) -> None:
    async with running(deployment_ctl=True) as env:
        body = deployment("web", replicas, strategy=rolling(surge, unavailable))
        await env.api.ok("POST", DEPLOY_PATH, body)
        await drive_rollout(env, per_step=replicas)
        max_surge, max_unavailable = du.max_surge(body), du.max_unavailable(body)
        watcher = await PodWatcher(env).start()
        await env.client.patch("deployments", NS, "web", {"spec": {"template": {"spec": {
            "containers": [{"name": "c", "image": "busybox:1.37"}]}}}})
        steps = await drive_rollout(env)
        await watcher.stop()
        assert watcher.changes > 2 * replicas
        assert watcher.max_active <= replicas + max_surge
        assert watcher.min_ready is not None
        assert watcher.min_ready >= replicas - max_unavailable
        assert steps >= 1
        images = {p["spec"]["containers"][0]["image"] for p in await pods(env)}
        assert images == {"busybox:1.37"}
        rses = {rs["metadata"]["annotations"][du.REVISION]: rs["spec"]["replicas"]
                for rs in await replicasets(env)}
        assert rses == {"1": 0, "2": replicas}
        d = await get(env, "deployments", "web")
        assert d["metadata"]["annotations"][du.REVISION] == "2"
        msgs = [e["message"] for e in await events(env, "ScalingReplicaSet")]
        assert any(m.startswith("Scaled down replica set web-") for m in msgs)
        assert any(" from 0 to " in m for m in msgs[1:])  # the new ReplicaSet's first size
