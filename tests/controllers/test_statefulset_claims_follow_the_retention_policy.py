"""volumeClaimTemplates: one claim per ordinal, mounted by the pod of that ordinal and kept
when the pod is replaced; the retention policy decides, through ownerReferences, whether
the garbage collector deletes a claim with its set (whenDeleted) or with its scaled-away
pod (whenScaled)."""

from __future__ import annotations

from ctrlharness import Env
from statefulset_helpers import NS, finish_deletions, get_set, names, pods, run, start

from jetkube.schemas.objects import Obj

TEMPLATE = {"metadata": {"name": "www", "labels": {"tier": "data"}},
            "spec": {"accessModes": ["ReadWriteOnce"],
                     "resources": {"requests": {"storage": "1Gi"}}}}


async def claims(env: Env) -> dict[str, Obj]:
    return {c["metadata"]["name"]: c
            for c in await env.objects(f"/api/v1/namespaces/{NS}/persistentvolumeclaims")}


def owners(claim: Obj) -> set[tuple[str, str]]:
    return {(r["kind"], r["name"]) for r in claim["metadata"].get("ownerReferences") or ()}


async def ready(policy: Obj | None = None, replicas: int = 2) -> Env:
    spec: dict[str, object] = {"volumeClaimTemplates": [TEMPLATE]}
    if policy is not None:
        spec["persistentVolumeClaimRetentionPolicy"] = policy
    env = await start(replicas=replicas, **spec)
    for _ in range(replicas):
        await run(env)
    return env


async def test_each_ordinal_gets_its_claim_and_mounts_it() -> None:
    env = await ready()
    try:
        got = await claims(env)
        assert sorted(got) == ["www-web-0", "www-web-1"]
        assert got["www-web-0"]["metadata"]["labels"] == {"tier": "data", "app": "web"}
        assert got["www-web-0"]["spec"]["resources"]["requests"]["storage"] == "1Gi"
        assert owners(got["www-web-0"]) == set()  # Retain/Retain: nobody owns it
        pod = (await pods(env))["web-1"]
        assert {"name": "www", "persistentVolumeClaim": {"claimName": "www-web-1"}} in \
            pod["spec"]["volumes"]
        uid = got["www-web-1"]["metadata"]["uid"]
        await env.client.delete("pods", NS, "web-1")
        await finish_deletions(env)
        assert "web-1" in await names(env)
        assert (await claims(env))["www-web-1"]["metadata"]["uid"] == uid  # the same claim
    finally:
        await env.close()


async def test_when_deleted_delete_makes_the_set_own_its_claims() -> None:
    env = await ready({"whenDeleted": "Delete", "whenScaled": "Retain"})
    try:
        got = await claims(env)
        assert all(owners(c) == {("StatefulSet", "web")} for c in got.values())
        sts = await get_set(env)
        sts["spec"]["persistentVolumeClaimRetentionPolicy"]["whenDeleted"] = "Retain"
        await env.client.update("statefulsets", NS, "web", sts)
        await env.settle()
        assert all(owners(c) == set() for c in (await claims(env)).values())
    finally:
        await env.close()


async def test_when_scaled_delete_hands_a_condemned_pods_claim_to_the_pod() -> None:
    env = await ready({"whenDeleted": "Retain", "whenScaled": "Delete"})
    try:
        await env.client.patch("statefulsets", NS, "web", {"spec": {"replicas": 1}})
        await env.settle()
        got = await claims(env)
        assert owners(got["www-web-1"]) == {("Pod", "web-1")}
        assert owners(got["www-web-0"]) == set()
    finally:
        await env.close()
