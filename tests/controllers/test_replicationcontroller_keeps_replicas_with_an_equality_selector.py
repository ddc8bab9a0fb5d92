"""A ReplicationController is run by the ReplicaSet controller's code: it creates pods
owned by a v1/ReplicationController reference, adopts matching orphans, scales through the
scale subresource, reports the same status counts, and its selector defaults to the
template's labels (and may change, unlike a ReplicaSet's)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from workload_helpers import NS, PODS_PATH, Env, get, make_env, make_ready, pods, template, wait_for

from jetkube.schemas.objects import Obj
from jetkube.services.controllers.replicaset import ReplicaSetController
from jetkube.services.controllers.replicationcontroller import REPLICATIONCONTROLLER

RC_PATH = f"/api/v1/namespaces/{NS}/replicationcontrollers"


def rc(name: str, replicas: int, labels: dict[str, str] | None = None) -> Obj:
    """An RC as people write it: no selector, the template's labels stand for it."""
    return {"apiVersion": "v1", "kind": "ReplicationController",
            "metadata": {"name": name, "namespace": NS},
            "spec": {"replicas": replicas, "template": template(labels or {"app": name})}}


@asynccontextmanager
async def running() -> AsyncIterator[Env]:
    env = await make_env()
    try:
        await env.start(ReplicaSetController(env.rt, kind=REPLICATIONCONTROLLER).controller)
        yield env
    finally:
        await env.close()


async def _active(env: Env, n: int) -> bool:
    return len(await pods(env)) == n


async def test_selector_and_labels_default_to_the_template_labels() -> None:
    async with running() as env:
        created = await env.api.ok("POST", RC_PATH, rc("web", 0))
        assert created["spec"]["selector"] == {"app": "web"}
        assert created["metadata"]["labels"] == {"app": "web"}


async def test_creates_pods_owned_by_the_rc_and_counts_them_in_status() -> None:
    async with running() as env:
        obj = await env.api.ok("POST", RC_PATH, rc("web", 3))
        await wait_for(env, lambda: _active(env, 3))
        for p in await pods(env):
            assert p["metadata"]["generateName"] == "web-"
            assert p["metadata"]["ownerReferences"] == [{
                "apiVersion": "v1", "kind": "ReplicationController", "name": "web",
                "uid": obj["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}]
        await make_ready(env, (await pods(env))[0])

        async def counted() -> bool:
            st = (await get(env, "replicationcontrollers", "web")).get("status") or {}
            return (st.get("replicas"), st.get("fullyLabeledReplicas"), st.get("readyReplicas"),
                    st.get("availableReplicas"), st.get("observedGeneration")) == (3, 3, 1, 1, 1)

        await wait_for(env, counted)


async def test_scale_subresource_resizes_the_rc() -> None:
    async with running() as env:
        await env.api.ok("POST", RC_PATH, rc("web", 1))
        await wait_for(env, lambda: _active(env, 1))
        scale = await env.api.ok("GET", f"{RC_PATH}/web/scale")
        assert scale["status"]["selector"] == "app=web"
        scale["spec"]["replicas"] = 4
        await env.api.ok("PUT", f"{RC_PATH}/web/scale", scale)
        await wait_for(env, lambda: _active(env, 4))
        await env.client.patch("replicationcontrollers", NS, "web", {"spec": {"replicas": 2}})
        await wait_for(env, lambda: _active(env, 2))


async def test_adopts_a_matching_orphan_instead_of_creating() -> None:
    async with running() as env:
        orphan = {"apiVersion": "v1", "kind": "Pod",
                  "metadata": {"name": "stray", "namespace": NS, "labels": {"app": "web"}},
                  "spec": {"containers": [{"name": "c", "image": "busybox:1.36"}]}}
        await env.api.ok("POST", PODS_PATH, orphan)
        await env.api.ok("POST", RC_PATH, rc("web", 2))
        await wait_for(env, lambda: _active(env, 2))
        stray = await get(env, "pods", "stray")
        assert stray["metadata"]["ownerReferences"][0]["kind"] == "ReplicationController"


async def test_a_changed_selector_releases_pods_that_no_longer_match() -> None:
    async with running() as env:
        await env.api.ok("POST", RC_PATH, rc("web", 1, {"app": "web", "tier": "a"}))
        await wait_for(env, lambda: _active(env, 1))
        first = (await pods(env))[0]["metadata"]["name"]
        body = await get(env, "replicationcontrollers", "web")
        body["spec"]["selector"] = {"app": "web", "tier": "b"}
        body["spec"]["template"]["metadata"]["labels"] = {"app": "web", "tier": "b"}
        await env.client.update("replicationcontrollers", NS, "web", body)

        async def released() -> bool:
            old = await get(env, "pods", first)
            return not old["metadata"].get("ownerReferences") and len(await pods(env)) == 2

        await wait_for(env, released)


async def test_rejects_a_selector_the_template_does_not_match() -> None:
    async with running() as env:
        body = rc("web", 1)
        body["spec"]["selector"] = {"app": "other"}
        code, status = await env.api.call("POST", RC_PATH, body)
        assert code == 422 and status["reason"] == "Invalid"
        cause = status["details"]["causes"][0]
        assert cause["field"] == "spec.template.metadata.labels"
