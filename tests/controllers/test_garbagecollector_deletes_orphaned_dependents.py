"""Background propagation: dependents whose owners are all gone are deleted; a
dependent with a surviving owner only loses the reference to the dead one; an
owner the caches do not show yet is checked with a live read, never presumed gone."""

from __future__ import annotations

from ctrlharness import make_env
from gc_helpers import CMS, cm, names, start_gc
from polling import until


async def test_dependents_of_a_deleted_owner_are_deleted() -> None:
    env = await make_env()
    try:
        owner = await env.api.ok("POST", CMS, cm("owner"))
        other = await env.api.ok("POST", CMS, cm("other"))
        await env.api.ok("POST", CMS, cm("dep-1", owner))
        await env.api.ok("POST", CMS, cm("dep-2", owner))
        await env.api.ok("POST", CMS, cm("shared", owner, other))
        await env.api.ok("POST", "/api/v1/namespaces/default/pods", {
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p", "ownerReferences": cm("x", owner)["metadata"][
                "ownerReferences"]},
            "spec": {"containers": [{"name": "c", "image": "busybox"}]}})
        gc = await start_gc(env)
        await env.settle()
        assert await names(env) == {"owner", "other", "dep-1", "dep-2", "shared"}

        await env.api.ok("DELETE", f"{CMS}/owner")
        await env.until(lambda: gc.graph.get(owner["metadata"]["uid"]) is None)
        await until(lambda: names(env), accept=lambda got: got == {"other", "shared"},
                    message="owner's dependents collected")
        assert await env.objects("/api/v1/namespaces/default/pods") == []
        shared = await env.api.ok("GET", f"{CMS}/shared")
        assert [r["uid"] for r in shared["metadata"]["ownerReferences"]] == [
            other["metadata"]["uid"]]
    finally:
        await env.close()


async def test_dependent_of_an_owner_that_never_existed_is_deleted() -> None:
    env = await make_env()
    try:
        await start_gc(env)
        ghost = {"apiVersion": "v1", "kind": "ConfigMap",
                 "metadata": {"name": "ghost", "uid": "no-such-uid"}}
        await env.api.ok("POST", CMS, cm("lost", ghost))
        await until(lambda: names(env), accept=lambda got: "lost" not in got, message="lost collected")
        assert await names(env) == set()
    finally:
        await env.close()


async def test_an_owner_missing_from_the_cache_is_read_live_before_judging() -> None:
    env = await make_env()
    try:
        owner = await env.api.ok("POST", CMS, cm("owner"))
        await env.api.ok("POST", CMS, cm("dep", owner))
        gc = await start_gc(env)
        await env.settle()
        # pretend the configmaps cache has not seen the owner yet
        gc.graph.forget("configmaps.default.owner")
        calls = len(env.client.calls)
        await gc.reconcile("configmaps.default.dep")
        assert ("get", "configmaps") in env.client.calls[calls:]
        assert await names(env) == {"owner", "dep"}
    finally:
        await env.close()


async def test_a_node_lease_goes_with_its_node_and_a_cross_namespace_owner_counts_as_gone() -> None:
    env = await make_env()
    try:
        node = await env.api.ok("POST", "/api/v1/nodes", {
            "apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"}})
        leases = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases"
        lease = cm("n1", node)
        lease.update(apiVersion="coordination.k8s.io/v1", kind="Lease", spec={"holderIdentity": "n1"})
        del lease["data"]
        await env.api.ok("POST", leases, lease)
        owner = await env.api.ok("POST", CMS, cm("owner"))
        await env.api.ok("POST", "/api/v1/namespaces", {
            "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "elsewhere"}})
        await env.api.ok("POST", "/api/v1/namespaces/elsewhere/configmaps", cm("stray", owner))
        await start_gc(env)
        await until(lambda: env.objects("/api/v1/namespaces/elsewhere/configmaps"),
                    accept=lambda got: got == [], message="the cross-namespace dependent collected")
        assert await names(env) == {"owner"}
        assert len(await env.objects(leases)) == 1

        await env.api.ok("DELETE", "/api/v1/nodes/n1")
        await until(lambda: env.objects(leases), accept=lambda got: got == [],
                    message="the node's lease collected")
    finally:
        await env.close()
