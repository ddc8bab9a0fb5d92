"""Scaling down deletes the highest ordinal first; OrderedReady waits for each pod to be
gone before the next goes; a failed pod is deleted and recreated under its own name."""

from __future__ import annotations

from statefulset_helpers import NS, finish_deletions, get_set, names, pods, run, start

from jetkube.services.controllers.statefulset_pods import is_created


async def ready_set(replicas: int = 3, **spec: object):  # type: ignore[no-untyped-def]
    env = await start(replicas=replicas, **spec)
    for _ in range(replicas):
        await run(env)
    assert len(await names(env)) == replicas
    return env


async def test_ordered_scale_down_deletes_one_pod_at_a_time_from_the_top() -> None:
    env = await ready_set(4)
    try:
        await env.client.patch("statefulsets", NS, "web", {"spec": {"replicas": 1}})
        await env.settle()
        assert await names(env) == ["web-0", "web-1", "web-2"]  # web-3 terminating
        await env.settle()
        assert await names(env) == ["web-0", "web-1", "web-2"]  # web-2 waits for web-3
        await finish_deletions(env)
        assert await names(env) == ["web-0", "web-1"]
        await finish_deletions(env)
        assert await names(env) == ["web-0"]
        await finish_deletions(env)
        st = (await get_set(env))["status"]
        assert (st["replicas"], st["readyReplicas"]) == (1, 1)
    finally:
        await env.close()


async def test_parallel_scale_down_deletes_every_condemned_pod_at_once() -> None:
    env = await ready_set(3, podManagementPolicy="Parallel")
    try:
        await env.client.patch("statefulsets", NS, "web", {"spec": {"replicas": 0}})
        await env.settle()
        assert await names(env) == []
    finally:
        await env.close()


async def test_a_failed_pod_is_replaced_by_a_pod_of_the_same_name() -> None:
    env = await ready_set(2)
    try:
        old = (await pods(env))["web-1"]
        old["status"]["phase"] = "Failed"
        await env.client.update_status("pods", NS, "web-1", old)
        await env.settle()
        assert (await pods(env))["web-1"]["metadata"].get("deletionTimestamp")
        await finish_deletions(env)
        new = (await pods(env))["web-1"]
        assert new["metadata"]["uid"] != old["metadata"]["uid"]
        assert is_created(new) and new["status"]["phase"] == "Pending"
    finally:
        await env.close()
