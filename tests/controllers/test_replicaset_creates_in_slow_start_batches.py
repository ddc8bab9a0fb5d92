"""Pod creation goes in slow-start batches (1, 2, 4, …): a batch with a failure stops the
rest, the ReplicaSet reports ReplicaFailure, and a retry finishes the job."""

from __future__ import annotations

import asyncio
from typing import Any

from workload_helpers import NS, RS_PATH, events, get, pods, replicaset, running, wait_for

from jetkube.services.controllers.replicaset_pods import slow_start_batch
from jetkube.services.machinery.apimachinery import apierrors

Obj = dict[str, Any]


async def test_batches_double_and_stop_at_the_first_failing_batch() -> None:
    sizes: list[int] = []
    inflight = 0
    calls = 0

    async def fn() -> None:
        nonlocal inflight, calls
        if inflight == 0:
            sizes.append(0)
        inflight += 1
        sizes[-1] += 1
        await asyncio.sleep(0)
        calls += 1
        inflight -= 1
        if calls == 10:
            raise RuntimeError("boom")

    ok, err = await slow_start_batch(100, 1, fn)
    assert sizes == [1, 2, 4, 8]  # the 4th batch holds call 10: nothing after it
    assert (ok, str(err)) == (14, "boom")
    sizes.clear()
    calls = -1000
    ok, err = await slow_start_batch(12, 1, fn)
    assert (sizes, ok, err) == ([1, 2, 4, 5], 12, None)


async def test_a_failing_create_stops_the_batch_then_the_retry_completes() -> None:
    async with running() as env:
        real_create_many = env.client.create_many
        batches: list[int] = []  # each batched create's size: one request each
        failures = {"left": 1}

        async def create_many(resource: str, namespace: str | None,
                              bodies: list[dict[str, Any]], **kw: Any) -> list[Any]:
            if resource != "pods":  # the controller's events, batched too (client/_events.py)
                return await real_create_many(resource, namespace, bodies, **kw)
            batches.append(len(bodies))
            first = sum(batches) - len(bodies) + 1  # the overall number of bodies[0]
            refused = 5 - first if first <= 5 < first + len(bodies) and failures["left"] else -1
            if refused >= 0:  # the 5th pod asked for is refused, the rest of its batch made
                failures["left"] -= 1
            made: list[Any] = await real_create_many(
                resource, namespace, [b for i, b in enumerate(bodies) if i != refused], **kw)
            if refused >= 0:
                made.insert(refused, apierrors.ApiError(403, "Forbidden", "exceeded quota: pods"))
            return made

        env.client.create_many = create_many  # type: ignore[method-assign]
        real_update_status = env.client.update_status
        written: list[Obj] = []  # every status the controller writes, in order

        async def update_status(resource: str, namespace: str | None, name: str, body: Obj,
                                **kw: Any) -> Any:
            if resource == "replicasets":
                written.append(body["status"])
            return await real_update_status(resource, namespace, name, body, **kw)

        env.client.update_status = update_status  # type: ignore[method-assign]
        await env.api.ok("POST", RS_PATH, replicaset("web", 10))

        def failure() -> Obj | None:
            """The first status written with a ReplicaFailure condition: recorded as written,
            since the add events of the pods made may start the next sync at once, and that
            sync, creating the rest, clears the condition (as Kubernetes' does) before a
            reader polling the ReplicaSet would see it."""
            for st in written:
                for cond in st.get("conditions") or ():
                    if cond["type"] == "ReplicaFailure":
                        return st
            return None

        st = await wait_for(env, failure)
        assert batches[:3] == [1, 2, 4]
        cond = st["conditions"][0]
        assert (cond["reason"], cond["status"]) == ("FailedCreate", "True")
        assert "exceeded quota" in cond["message"]
        assert st["replicas"] in (0, 1, 3)  # the status counts pods the cache had seen

        async def failed_create_events() -> list[Obj]:
            return await events(env, "FailedCreate")  # recorded in batches, off the sync

        warn = await wait_for(env, failed_create_events)
        assert warn and warn[0]["type"] == "Warning"
        await env.clock.advance(1)  # the rate-limited retry, if the add events have not
        # already started the sync that creates the rest

        async def done() -> bool:
            st = (await get(env, "replicasets", "web")).get("status") or {}
            return len(await pods(env)) == 10 and st.get("replicas") == 10 and not st.get(
                "conditions")

        await wait_for(env, done)
        assert sum(batches) == 11  # 10 pods + the one refused
        assert len(batches) < 11  # in batched requests, not one per pod
        assert len(await pods(env)) == 10
        assert NS == "default"
