"""A ReplicaSet keeps spec.replicas pods: creates missing ones (owned, generateName),
deletes the surplus, and does not count pods being deleted."""

from __future__ import annotations

from workload_helpers import (
    NS,
    RS_PATH,
    Env,
    events,
    get,
    make_ready,
    pods,
    replicaset,
    running,
    wait_for,
)


async def test_creates_owned_pods_with_generate_name() -> None:
    async with running() as env:
        rs = await env.api.ok("POST", RS_PATH, replicaset("web", 3))
        await wait_for(env, lambda: _count(env, 3))
        for p in await pods(env):
            md = p["metadata"]
            assert md["name"].startswith("web-") and len(md["name"]) == len("web-") + 5
            assert md["generateName"] == "web-"
            assert md["labels"] == {"app": "web"}
            assert md["ownerReferences"] == [{
                "apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web",
                "uid": rs["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}]

        async def all_reported() -> bool:  # each after its create's answer, which may come
            return len(await events(env, "SuccessfulCreate")) >= 3  # after the pod is seen
        await wait_for(env, all_reported)
        created = await events(env, "SuccessfulCreate")
        assert len(created) == 3 and created[0]["message"].startswith("Created pod: web-")


async def test_scales_down_and_replaces_deleted_pods() -> None:
    async with running() as env:
        await env.api.ok("POST", RS_PATH, replicaset("web", 4))
        await wait_for(env, lambda: _count(env, 4))
        await env.client.patch("replicasets", NS, "web", {"spec": {"replicas": 2}})
        await wait_for(env, lambda: _count(env, 2))
        await env.settle()
        assert len(await pods(env)) == 2
        victim = (await pods(env))[0]["metadata"]["name"]
        await env.client.delete("pods", NS, victim)
        await wait_for(env, lambda: _count(env, 2, without=victim))
        assert len(await events(env, "SuccessfulDelete")) == 2


async def test_terminating_pods_do_not_count() -> None:
    async with running() as env:
        await env.api.ok("POST", RS_PATH, replicaset("web", 2))
        await wait_for(env, lambda: _count(env, 2))
        p = (await pods(env))[0]
        await make_ready(env, p, node="n1")  # bound: deletion is graceful, the pod stays
        await env.client.delete("pods", NS, p["metadata"]["name"])
        assert (await get(env, "pods", p["metadata"]["name"]))["metadata"]["deletionTimestamp"]
        await wait_for(env, lambda: _count(env, 2, without=p["metadata"]["name"]))
        await wait_for(env, lambda: _status(env, replicas=2))


async def _count(env: Env, n: int, without: str | None = None) -> bool:
    ps = await pods(env)
    return len(ps) == n and all(p["metadata"]["name"] != without for p in ps)


async def _status(env: Env, **want: int) -> bool:
    st = (await get(env, "replicasets", "web")).get("status") or {}
    return all(st.get(k) == v for k, v in want.items())
