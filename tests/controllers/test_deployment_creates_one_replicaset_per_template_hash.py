"""A Deployment gets one ReplicaSet per pod template, named <deployment>-<pod-template-hash>
(fnv of the template, as Kubernetes computes it), with revision and replica annotations,
a ScalingReplicaSet event, and Available / Progressing conditions once its pods are up."""

from __future__ import annotations

from typing import Any

from workload_helpers import (
    DEPLOY_PATH,
    NS,
    Env,
    deployment,
    events,
    get,
    pods,
    ready_all,
    replicasets,
    running,
    template,
    wait_for,
)

from jetkube.services.controllers import deployment_util as du


def test_the_hash_is_deterministic_and_ignores_its_own_label() -> None:
    t = template({"app": "web"})
    h = du.compute_hash(t)
    assert h == du.compute_hash(template({"app": "web"}))
    assert h == "6c98dd787b"  # pinned: a changed hash function would roll every Deployment out again
    labelled = template({"app": "web", du.HASH_LABEL: h})
    assert du.compute_hash(labelled) == h and du.equal_ignore_hash(labelled, t)
    assert du.compute_hash(template({"app": "web"}, "busybox:1.37")) != h
    assert du.compute_hash(t, collision_count=1) != h
    assert set(h) <= set("bcdfghjklmnpqrstvwxz2456789")


async def deployment_status(env: Env, name: str = "web") -> dict[str, Any]:
    return (await get(env, "deployments", name)).get("status") or {}


async def test_creates_the_replicaset_then_reports_complete() -> None:
    async with running(deployment_ctl=True) as env:
        d = await env.api.ok("POST", DEPLOY_PATH, deployment("web", 3))

        async def three() -> bool:
            return len(await pods(env)) == 3

        await wait_for(env, three)
        [rs] = await replicasets(env)
        h = du.compute_hash(d["spec"]["template"])
        md = rs["metadata"]
        assert md["name"] == f"web-{h}"
        assert md["labels"] == {"app": "web", "pod-template-hash": h}
        assert rs["spec"]["selector"]["matchLabels"] == {"app": "web", "pod-template-hash": h}
        assert rs["spec"]["template"]["metadata"]["labels"]["pod-template-hash"] == h
        ref = md["ownerReferences"][0]
        assert (ref["kind"], ref["name"], ref["uid"], ref["controller"]) == (
            "Deployment", "web", d["metadata"]["uid"], True)
        ann = md["annotations"]
        assert ann[du.REVISION] == "1"
        assert (ann[du.DESIRED_REPLICAS], ann[du.MAX_REPLICAS]) == ("3", "4")  # surge 25% of 3 -> 1
        assert (await get(env, "deployments", "web"))["metadata"]["annotations"][du.REVISION] == "1"
        assert all(p["metadata"]["labels"]["pod-template-hash"] == h for p in await pods(env))
        scaled = await events(env, "ScalingReplicaSet")
        assert [e["message"] for e in scaled] == [f"Scaled up replica set web-{h} from 0 to 3"]
        assert scaled[0]["involvedObject"]["kind"] == "Deployment"

        st = await deployment_status(env)
        conds = {c["type"]: c for c in st.get("conditions", [])}
        assert conds["Available"]["status"] == "False"
        assert conds["Available"]["reason"] == "MinimumReplicasUnavailable"
        assert conds["Progressing"]["reason"] in ("NewReplicaSetCreated", "ReplicaSetUpdated")

        await ready_all(env)

        async def complete() -> bool:
            st = await deployment_status(env)
            conds = {c["type"]: c for c in st.get("conditions", [])}
            return conds.get("Progressing", {}).get("reason") == "NewReplicaSetAvailable"

        await wait_for(env, complete)
        st = await deployment_status(env)
        assert {k: st[k] for k in ("replicas", "updatedReplicas", "readyReplicas",
                                   "availableReplicas", "unavailableReplicas",
                                   "observedGeneration")} == {
            "replicas": 3, "updatedReplicas": 3, "readyReplicas": 3, "availableReplicas": 3,
            "unavailableReplicas": 0, "observedGeneration": 1}
        conds = {c["type"]: c for c in st["conditions"]}
        assert (conds["Available"]["status"], conds["Available"]["reason"]) == (
            "True", "MinimumReplicasAvailable")
        assert conds["Progressing"]["message"] == f'ReplicaSet "web-{h}" has successfully progressed.'
        assert NS == "default"
