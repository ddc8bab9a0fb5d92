"""ReplicaSet status: replicas, fullyLabeledReplicas, readyReplicas, availableReplicas
(ready for minReadySeconds, reached by a requeue on the clock, not by polling) and
observedGeneration, written through the status subresource only when they change."""

from __future__ import annotations

from typing import Any

from workload_helpers import NS, RS_PATH, Env, get, make_ready, pods, replicaset, running, wait_for


async def status_is(env: Env, **want: int) -> bool:
    st = (await get(env, "replicasets", "web")).get("status") or {}
    return all(st.get(k) == v for k, v in want.items())


async def test_available_only_after_min_ready_seconds_on_the_clock() -> None:
    async with running() as env:
        body = replicaset("web", 3, min_ready=10)
        body["spec"]["template"]["metadata"]["labels"]["tier"] = "front"
        await env.client.create("pods", NS, {
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "orphan", "labels": {"app": "web"}},
            "spec": {"containers": [{"name": "c", "image": "busybox:1.36"}]}})
        rs = await env.api.ok("POST", RS_PATH, body)

        async def three() -> bool:
            return len(await pods(env)) == 3 and await status_is(env, replicas=3)

        await wait_for(env, three)
        assert await status_is(env, fullyLabeledReplicas=2, readyReplicas=0, availableReplicas=0,
                               observedGeneration=rs["metadata"]["generation"])
        ps = await pods(env)
        await make_ready(env, ps[0])
        await env.clock.advance(4)
        await make_ready(env, ps[1])
        await wait_for(env, lambda: status_is(env, readyReplicas=2, availableReplicas=0))
        await env.clock.advance(6)  # ps[0] has been ready 10 s
        await wait_for(env, lambda: status_is(env, readyReplicas=2, availableReplicas=1))
        await env.clock.advance(4)
        await wait_for(env, lambda: status_is(env, readyReplicas=2, availableReplicas=2))


async def test_status_is_written_only_when_it_changes() -> None:
    async with running() as env:
        writes: list[dict[str, Any]] = []
        real = env.client.update_status

        async def update_status(resource: str, namespace: str | None, name: str,
                                body: dict[str, Any]) -> dict[str, Any]:
            if resource == "replicasets":
                writes.append(body["status"])
            return await real(resource, namespace, name, body)

        env.client.update_status = update_status  # type: ignore[method-assign]
        await env.api.ok("POST", RS_PATH, replicaset("web", 2))
        await wait_for(env, lambda: status_is(env, replicas=2))
        await env.settle()
        n = len(writes)
        for i in range(3):  # changes that do not move the status
            await env.client.patch("replicasets", NS, "web",
                                   {"metadata": {"labels": {"touch": str(i)}}})
            await env.settle()
        assert len(writes) == n
        await env.client.patch("replicasets", NS, "web", {"spec": {"replicas": 1}})
        rs = await get(env, "replicasets", "web")
        await wait_for(env, lambda: status_is(env, replicas=1,
                                              observedGeneration=rs["metadata"]["generation"]))
        assert len(writes) > n
