"""Scale-down deletes pods in Kubernetes' order: unscheduled, then pending before running,
not ready, lower pod-deletion-cost, doubled up on a node, ready for less time, more
restarts, and newest first."""

from __future__ import annotations

from workload_helpers import NS, RS_PATH, get, make_ready, pods, replicaset, running, wait_for

from jetkube.schemas.objects import Obj
from jetkube.services.controllers.replicaset_pods import deletion_order


def pod(name: str, *, node: str = "", phase: str = "Running", ready_at: str | None = None,
        created: str = "2024-01-01T00:00:00Z", restarts: int = 0, cost: int | None = None
        ) -> Obj:
    conds = [{"type": "Ready", "status": "True", "lastTransitionTime": ready_at}] if ready_at \
        else [{"type": "Ready", "status": "False"}]
    md: Obj = {"name": name, "creationTimestamp": created}
    if cost is not None:
        md["annotations"] = {"controller.kubernetes.io/pod-deletion-cost": str(cost)}
    return {"metadata": md, "spec": {"nodeName": node},
            "status": {"phase": phase, "conditions": conds,
                       "containerStatuses": [{"restartCount": restarts}]}}


def names(ps: list[Obj]) -> list[str]:
    return [p["metadata"]["name"] for p in ps]


def test_the_ranking_rules_in_order() -> None:
    t0, t1 = "2024-01-01T00:00:00Z", "2024-01-01T01:00:00Z"
    ps = [
        pod("ready-old", node="n1", ready_at=t0),
        pod("unscheduled", phase="Pending"),
        pod("ready-new", node="n2", ready_at=t1),
        pod("pending", node="n3", phase="Pending"),
        pod("not-ready", node="n4"),
    ]
    assert names(deletion_order(ps, ps)) == [
        "unscheduled", "pending", "not-ready", "ready-new", "ready-old"]
    costly = [pod("cheap", node="a", ready_at=t0, cost=-5), pod("dear", node="b", ready_at=t1,
                                                                     cost=10)]
    assert names(deletion_order(costly, costly)) == ["cheap", "dear"]
    # doubled up: two related pods on n1 make its pod go before the lone one on n2
    doubled = [pod("alone", node="n2", ready_at=t1), pod("crowded", node="n1", ready_at=t0)]
    sibling = pod("sibling", node="n1", ready_at=t0)
    assert names(deletion_order(doubled, [*doubled, sibling])) == ["crowded", "alone"]
    same_time = [pod("calm", node="a", ready_at=t0, created=t0),
                 pod("crashy", node="b", ready_at=t0, created=t0, restarts=3),
                 pod("young", node="c", ready_at=t0, created=t1)]
    assert names(deletion_order(same_time, same_time)) == ["crashy", "young", "calm"]


async def test_scale_down_picks_unscheduled_then_not_ready_then_most_recently_ready() -> None:
    async with running() as env:
        await env.api.ok("POST", RS_PATH, replicaset("web", 4))

        async def four() -> bool:
            return len(await pods(env)) == 4

        await wait_for(env, four)
        a, b, c, d = sorted(names(await pods(env)))
        await make_ready(env, {"metadata": {"name": a}}, node="n1")
        await env.clock.advance(30)
        await make_ready(env, {"metadata": {"name": b}}, node="n2")
        await env.client.bind(NS, c, "n3")  # scheduled, not ready
        # d stays unscheduled
        order: list[str] = []
        for want in (3, 2, 1):
            await env.client.patch("replicasets", NS, "web", {"spec": {"replicas": want}})

            async def scaled(want: int = want) -> bool:
                return len(await pods(env)) == want

            await wait_for(env, scaled)
            gone = {a, b, c, d} - set(names(await pods(env))) - set(order)
            assert len(gone) == 1
            order += gone
        assert order == [d, c, b]
        assert names(await pods(env)) == [a]
        assert (await get(env, "pods", b))["metadata"]["deletionTimestamp"]  # graceful: bound
