"""A ReplicaSet adopts matching orphan pods (ownerReferences patch) instead of creating
more, leaves pods other controllers own alone, and releases pods that stop matching."""

from __future__ import annotations

from workload_helpers import NS, RS_PATH, Env, get, pods, replicaset, running, template, wait_for

from jetkube.schemas.objects import Obj


def orphan(name: str, labels: dict[str, str]) -> Obj:
    t = template(labels)
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": NS, **t["metadata"]}, "spec": t["spec"]}


async def test_adopts_matching_orphans_and_creates_only_the_rest() -> None:
    async with running() as env:
        for n in ("a", "b"):
            await env.client.create("pods", NS, orphan(n, {"app": "web"}))
        await env.client.create("pods", NS, orphan("other", {"app": "db"}))
        owned_elsewhere = orphan("taken", {"app": "web"})
        owned_elsewhere["metadata"]["ownerReferences"] = [{
            "apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "x", "uid": "uid-x",
            "controller": True}]
        await env.client.create("pods", NS, owned_elsewhere)
        rs = await env.api.ok("POST", RS_PATH, replicaset("web", 3))

        async def owned() -> bool:
            return len(_owned_by(await pods(env), rs["metadata"]["uid"])) == 3

        await wait_for(env, owned)
        await env.settle()
        mine = _owned_by(await pods(env), rs["metadata"]["uid"])
        assert {"a", "b"} <= {p["metadata"]["name"] for p in mine}
        assert len(await pods(env)) == 5  # a, b, one created, other, taken
        ref = (await get(env, "pods", "a"))["metadata"]["ownerReferences"][0]
        assert (ref["kind"], ref["name"], ref["controller"], ref["blockOwnerDeletion"]) == (
            "ReplicaSet", "web", True, True)
        assert (await get(env, "pods", "taken"))["metadata"]["ownerReferences"][0]["uid"] == "uid-x"
        assert "ownerReferences" not in (await get(env, "pods", "other"))["metadata"]


async def test_releases_a_pod_that_stops_matching_and_replaces_it() -> None:
    async with running() as env:
        rs = await env.api.ok("POST", RS_PATH, replicaset("web", 2))
        uid = rs["metadata"]["uid"]

        async def two_owned() -> bool:
            return len(_owned_by(await pods(env), uid)) == 2

        await wait_for(env, two_owned)
        name = (await pods(env))[0]["metadata"]["name"]
        await env.client.patch("pods", NS, name, {"metadata": {"labels": {"app": "debug"}}})

        async def released() -> bool:
            p = await get(env, "pods", name)
            return not p["metadata"].get("ownerReferences") and await two_owned()

        await wait_for(env, released)
        assert name not in {p["metadata"]["name"] for p in _owned_by(await pods(env), uid)}
        assert len(await pods(env)) == 3


async def test_does_not_adopt_while_being_deleted() -> None:
    async with running() as env:
        body = replicaset("web", 1)
        body["metadata"]["finalizers"] = ["example.com/hold"]
        rs = await env.api.ok("POST", RS_PATH, body)
        await wait_for(env, lambda: _n_owned(env, rs["metadata"]["uid"], 1))
        await env.client.delete("replicasets", NS, "web")
        await env.client.create("pods", NS, orphan("late", {"app": "web"}))
        await env.settle()
        await env.settle()
        assert "ownerReferences" not in (await get(env, "pods", "late"))["metadata"]


def _owned_by(ps: list[Obj], uid: str) -> list[Obj]:
    return [p for p in ps if any(r.get("uid") == uid
                                 for r in p["metadata"].get("ownerReferences") or ())]


async def _n_owned(env: Env, uid: str, n: int) -> bool:
    return len(_owned_by(await pods(env), uid)) == n
