"""Foreground propagation: the owner stays (foregroundDeletion finalizer) until its
blocking dependents are gone; dependents with dependents of their own are deleted
in the foreground too, so a chain goes from the leaves up."""

from __future__ import annotations

from ctrlharness import make_env
from gc_helpers import CMS, cm, names, start_gc
from polling import until

FOREGROUND = {"propagationPolicy": "Foreground"}


async def test_owner_waits_for_a_blocking_dependent_then_goes() -> None:
    env = await make_env()
    try:
        owner = await env.api.ok("POST", CMS, cm("owner"))
        held = cm("held", owner, block=True)
        held["metadata"]["finalizers"] = ["example.com/hold"]
        await env.api.ok("POST", CMS, held)
        await env.api.ok("POST", CMS, cm("free", owner))
        await start_gc(env)
        await env.api.ok("DELETE", f"{CMS}/owner", FOREGROUND)
        await until(lambda: names(env), accept=lambda got: "free" not in got, message="free collected")
        assert await names(env) == {"owner", "held"}
        cur = await env.api.ok("GET", f"{CMS}/owner")
        assert cur["metadata"]["finalizers"] == ["foregroundDeletion"]
        held_now = await env.api.ok("GET", f"{CMS}/held")
        assert held_now["metadata"].get("deletionTimestamp")
        await env.settle()
        assert "owner" in await names(env)  # still waiting for "held"

        held_now["metadata"]["finalizers"] = []
        await env.api.ok("PUT", f"{CMS}/held", held_now)
        await until(lambda: names(env), accept=lambda got: got == set(), message="everything collected")
    finally:
        await env.close()


async def test_a_chain_is_deleted_from_the_leaves_up() -> None:
    env = await make_env()
    try:
        top = await env.api.ok("POST", CMS, cm("top"))
        mid = await env.api.ok("POST", CMS, cm("mid", top, block=True))
        leaf = cm("leaf", mid, block=True)
        leaf["metadata"]["finalizers"] = ["example.com/hold"]
        await env.api.ok("POST", CMS, leaf)
        await start_gc(env)
        await env.api.ok("DELETE", f"{CMS}/top", FOREGROUND)
        mid_now = await until(lambda: env.api.ok("GET", f"{CMS}/mid"),
                              accept=lambda got: got["metadata"].get("deletionTimestamp"),
                              message="mid being deleted")
        assert mid_now["metadata"]["finalizers"] == ["foregroundDeletion"]
        await env.settle()
        assert await names(env) == {"top", "mid", "leaf"}

        leaf_now = await env.api.ok("GET", f"{CMS}/leaf")
        assert leaf_now["metadata"].get("deletionTimestamp")
        leaf_now["metadata"]["finalizers"] = []
        await env.api.ok("PUT", f"{CMS}/leaf", leaf_now)
        await until(lambda: names(env), accept=lambda got: got == set(), message="everything collected")
    finally:
        await env.close()


async def test_a_dependent_with_another_owner_only_drops_the_reference() -> None:
    env = await make_env()
    try:
        owner = await env.api.ok("POST", CMS, cm("owner"))
        other = await env.api.ok("POST", CMS, cm("other"))
        await env.api.ok("POST", CMS, cm("shared", owner, other, block=True))
        await start_gc(env)
        await env.api.ok("DELETE", f"{CMS}/owner", FOREGROUND)
        await until(lambda: names(env), accept=lambda got: "owner" not in got, message="owner deleted")
        assert await names(env) == {"other", "shared"}
        shared = await env.api.ok("GET", f"{CMS}/shared")
        assert [r["uid"] for r in shared["metadata"]["ownerReferences"]] == [
            other["metadata"]["uid"]]
    finally:
        await env.close()
