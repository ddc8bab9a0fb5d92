"""Rolling back (the template set back to an older one, as `kctl rollout undo` does)
reuses that template's ReplicaSet, bumps its revision past every other and records the
old number in revision-history; the Deployment's revision follows."""

from __future__ import annotations

from workload_helpers import (
    DEPLOY_PATH,
    NS,
    Env,
    deployment,
    drive_rollout,
    get,
    pods,
    replicasets,
    running,
)

from jetkube.services.controllers import deployment_util as du


async def set_image(env: Env, image: str) -> None:
    await env.client.patch("deployments", NS, "web", {"spec": {"template": {"spec": {
        "containers": [{"name": "c", "image": image}]}}}})


async def revisions(env: Env) -> dict[str, tuple[str, int]]:
    """RS name -> (revision annotation, spec.replicas)."""
    return {rs["metadata"]["name"]: (rs["metadata"]["annotations"][du.REVISION],
                                     rs["spec"]["replicas"]) for rs in await replicasets(env)}


async def test_undo_reuses_the_old_replicaset_and_advances_revisions() -> None:
    async with running(deployment_ctl=True) as env:
        d = await env.api.ok("POST", DEPLOY_PATH, deployment("web", 3))
        await drive_rollout(env, per_step=3)
        [first] = await revisions(env)
        await set_image(env, "busybox:1.37")
        await drive_rollout(env)
        [second] = [n for n in await revisions(env) if n != first]
        assert await revisions(env) == {first: ("1", 0), second: ("2", 3)}

        # kctl rollout undo: copy the old ReplicaSet's template (minus the hash) back
        old_rs = await get(env, "replicasets", first)
        template = du.template_without_hash(old_rs["spec"]["template"])
        cur = await get(env, "deployments", "web")
        cur["spec"]["template"] = template
        await env.client.update("deployments", NS, "web", cur)
        await drive_rollout(env)

        assert await revisions(env) == {first: ("3", 3), second: ("2", 0)}
        rs = await get(env, "replicasets", first)
        assert rs["metadata"]["annotations"][du.REVISION_HISTORY] == "1"
        assert rs["metadata"]["uid"] == old_rs["metadata"]["uid"]  # reused, not recreated
        d = await get(env, "deployments", "web")
        assert d["metadata"]["annotations"][du.REVISION] == "3"
        assert {p["spec"]["containers"][0]["image"] for p in await pods(env)} == {"busybox:1.36"}

        # and forward again to the second template: revision 4, history "2"
        await set_image(env, "busybox:1.37")
        await drive_rollout(env)
        assert await revisions(env) == {first: ("3", 0), second: ("4", 3)}
        rs2 = await get(env, "replicasets", second)
        assert rs2["metadata"]["annotations"][du.REVISION_HISTORY] == "2"


def test_revision_history_keeps_within_its_length_limit() -> None:
    d = deployment("web", 1)
    rs = {"metadata": {"annotations": {du.REVISION: "7",
                                       du.REVISION_HISTORY: ",".join(["9" * 99] * 20)}}}
    assert du.set_new_rs_annotations(d, rs, 8, exists=True)
    history = rs["metadata"]["annotations"][du.REVISION_HISTORY].split(",")
    assert history[-1] == "7" and len(",".join(history)) <= du.MAX_REVISION_HISTORY_CHARS
