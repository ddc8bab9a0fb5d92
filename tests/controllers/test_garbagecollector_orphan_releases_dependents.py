"""Orphan propagation: the owner's references are removed from its dependents, which
stay; then the orphan finalizer is removed and the owner goes."""

from __future__ import annotations

from ctrlharness import make_env
from gc_helpers import CMS, cm, names, start_gc
from polling import until


async def test_orphaned_dependents_stay_without_the_reference() -> None:
    env = await make_env()
    try:
        owner = await env.api.ok("POST", CMS, cm("owner"))
        other = await env.api.ok("POST", CMS, cm("other"))
        await env.api.ok("POST", CMS, cm("dep-1", owner))
        await env.api.ok("POST", CMS, cm("dep-2", owner, other))
        await start_gc(env)
        out = await env.api.ok("DELETE", f"{CMS}/owner", {"propagationPolicy": "Orphan"})
        assert out["metadata"]["finalizers"] == ["orphan"]
        await until(lambda: names(env), accept=lambda got: "owner" not in got, message="owner deleted")
        assert await names(env) == {"other", "dep-1", "dep-2"}
        dep1 = await env.api.ok("GET", f"{CMS}/dep-1")
        assert not dep1["metadata"].get("ownerReferences")
        dep2 = await env.api.ok("GET", f"{CMS}/dep-2")
        assert [r["uid"] for r in dep2["metadata"]["ownerReferences"]] == [other["metadata"]["uid"]]
        await env.settle()
        assert await names(env) == {"other", "dep-1", "dep-2"}  # nothing collected afterwards
    finally:
        await env.close()
