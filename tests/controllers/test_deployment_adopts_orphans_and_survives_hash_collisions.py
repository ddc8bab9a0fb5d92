"""A Deployment adopts a matching orphan ReplicaSet (and uses it as its new one when the
template is the same); a foreign object already holding <name>-<hash> bumps
status.collisionCount and the ReplicaSet is created under the next hash."""

from __future__ import annotations

from workload_helpers import (
    DEPLOY_PATH,
    RS_PATH,
    deployment,
    get,
    replicaset,
    replicasets,
    running,
    wait_for,
)

from jetkube.schemas.load import load_object
from jetkube.schemas.registry import by_plural
from jetkube.services.controllers import deployment_util as du


async def test_adopts_an_orphan_replicaset_with_the_same_template() -> None:
    async with running(deployment_ctl=True) as env:
        legacy = replicaset("legacy", 2, {"app": "web"})
        await env.api.ok("POST", RS_PATH, legacy)
        d = await env.api.ok("POST", DEPLOY_PATH, deployment("web", 3))

        async def adopted() -> bool:
            rs = await get(env, "replicasets", "legacy")
            refs = rs["metadata"].get("ownerReferences") or []
            return bool(refs) and rs["spec"]["replicas"] == 3

        await wait_for(env, adopted)
        rs = await get(env, "replicasets", "legacy")
        assert rs["metadata"]["ownerReferences"][0]["uid"] == d["metadata"]["uid"]
        assert rs["metadata"]["annotations"][du.REVISION] == "1"
        assert [r["metadata"]["name"] for r in await replicasets(env)] == ["legacy"]


async def test_a_name_collision_moves_to_the_next_hash() -> None:
    async with running(deployment_ctl=True) as env:
        body = deployment("web", 1)
        rt = by_plural("apps", "deployments")
        assert rt is not None
        stored = load_object(rt, body)  # the template as the API server stores it (defaulted)
        h = du.compute_hash(stored["spec"]["template"])
        squatter = replicaset(f"web-{h}", 0, {"app": "other"})
        await env.api.ok("POST", RS_PATH, squatter)
        await env.api.ok("POST", DEPLOY_PATH, body)
        h1 = du.compute_hash(stored["spec"]["template"], collision_count=1)

        async def created() -> bool:
            return f"web-{h1}" in {r["metadata"]["name"] for r in await replicasets(env)}

        await wait_for(env, created)
        assert (await get(env, "deployments", "web"))["status"]["collisionCount"] == 1
        assert not (await get(env, "replicasets", f"web-{h}"))["metadata"].get("ownerReferences")
