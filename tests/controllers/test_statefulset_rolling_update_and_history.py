"""RollingUpdate replaces pods from the highest ordinal down, one at a time, only at
ordinals >= partition; OnDelete waits for the user; every template is a ControllerRevision,
and going back to an earlier template renumbers that revision instead of adding one."""

from __future__ import annotations

from ctrlharness import Env
from statefulset_helpers import NS, finish_deletions, get_set, images, run, set_image, start

from jetkube.schemas.objects import Obj


async def ready(replicas: int = 3, **spec: object) -> Env:
    env = await start(replicas=replicas, **spec)
    for _ in range(replicas):
        await run(env)
    return env


async def revisions(env: Env) -> dict[str, Obj]:
    return {r["metadata"]["name"]: r
            for r in await env.objects(f"/apis/apps/v1/namespaces/{NS}/controllerrevisions")}


async def roll(env: Env) -> None:
    """Let the node agent finish deletions and run new pods until nothing changes."""
    for _ in range(10):
        await finish_deletions(env)
        await run(env)


async def test_partition_updates_only_the_ordinals_at_or_above_it() -> None:
    env = await ready()
    try:
        await set_image(env, "httpd:2", partition=2)
        assert await images(env) == {"web-0": "httpd:1", "web-1": "httpd:1"}  # web-2 going
        await roll(env)
        assert await images(env) == {"web-0": "httpd:1", "web-1": "httpd:1", "web-2": "httpd:2"}
        st = (await get_set(env))["status"]
        assert st["currentRevision"] != st["updateRevision"]
        assert (st["updatedReplicas"], st["currentReplicas"]) == (1, 2)
    finally:
        await env.close()


async def test_rolling_update_goes_down_from_the_highest_ordinal_one_at_a_time() -> None:
    env = await ready()
    try:
        await set_image(env, "httpd:2")
        seen = [await images(env)]
        for _ in range(3):
            await finish_deletions(env)
            seen.append(await images(env))
            await run(env)
            seen.append(await images(env))
        assert seen[0] == {"web-0": "httpd:1", "web-1": "httpd:1"}
        assert {"web-0": "httpd:1", "web-1": "httpd:1", "web-2": "httpd:2"} in seen
        assert {"web-0": "httpd:1", "web-2": "httpd:2"} in seen  # then web-1 goes
        assert {"web-1": "httpd:2", "web-2": "httpd:2"} in seen  # web-0 last
        assert seen[-1] == {"web-0": "httpd:2", "web-1": "httpd:2", "web-2": "httpd:2"}
        st = (await get_set(env))["status"]
        assert st["currentRevision"] == st["updateRevision"]
        assert (st["currentReplicas"], st["updatedReplicas"]) == (3, 3)
    finally:
        await env.close()


async def test_on_delete_keeps_old_pods_until_they_are_deleted() -> None:
    env = await ready(2, updateStrategy={"type": "OnDelete"})
    try:
        await set_image(env, "httpd:2")
        await roll(env)
        assert await images(env) == {"web-0": "httpd:1", "web-1": "httpd:1"}
        await env.client.delete("pods", NS, "web-0")
        await roll(env)
        assert await images(env) == {"web-0": "httpd:2", "web-1": "httpd:1"}
    finally:
        await env.close()


async def test_going_back_to_a_template_renumbers_its_revision() -> None:
    env = await ready(1)
    try:
        first = await revisions(env)
        await set_image(env, "httpd:2")
        await roll(env)
        await set_image(env, "httpd:1")
        await roll(env)
        after = await revisions(env)
        assert len(after) == 2
        (name1,) = first
        assert after[name1]["revision"] == 3
        assert sorted(r["revision"] for r in after.values()) == [2, 3]
        st = (await get_set(env))["status"]
        assert st["currentRevision"] == st["updateRevision"] == name1
        assert await images(env) == {"web-0": "httpd:1"}
    finally:
        await env.close()


async def test_history_beyond_the_limit_is_deleted() -> None:
    env = await ready(1, revisionHistoryLimit=1)
    try:
        for image in ("httpd:2", "httpd:3", "httpd:4"):
            await set_image(env, image)
            await roll(env)
        nums = sorted(r["revision"] for r in (await revisions(env)).values())
        assert nums == [3, 4]  # the live one and one more
    finally:
        await env.close()


async def test_max_unavailable_replaces_that_many_pods_at_a_time() -> None:
    env = await ready(4)
    try:
        await set_image(env, "httpd:2", partition=0, maxUnavailable=2)
        assert await images(env) == {"web-0": "httpd:1", "web-1": "httpd:1"}  # 2 and 3 going
        await roll(env)
        assert await images(env) == {f"web-{i}": "httpd:2" for i in range(4)}
    finally:
        await env.close()
