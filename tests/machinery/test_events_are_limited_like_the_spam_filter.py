"""Creating many pods writes at most 25 SuccessfulCreate events per ReplicaSet, then one per
five minutes, like client-go's event spam filter."""

from __future__ import annotations

from workload_helpers import RS_PATH, events, pods, replicaset, running, wait_for

from jetkube.services.machinery.client import EventBudget
from jetkube.services.machinery.runtime import FakeClock


async def test_forty_pods_make_twenty_five_events() -> None:
    async with running() as env:
        await env.api.ok("POST", RS_PATH, replicaset("web", 40))

        async def forty() -> bool:
            return len(await pods(env)) == 40

        await wait_for(env, forty)
        assert len(await events(env, "SuccessfulCreate")) == 25


async def test_the_budget_refills_one_per_five_minutes() -> None:
    clock = FakeClock()
    budget = EventBudget(clock)
    assert sum(budget.take("rs", "Normal") for _ in range(30)) == 25
    assert budget.take("rs", "Warning")  # another type has its own bucket
    await clock.advance(299)
    assert not budget.take("rs", "Normal")
    await clock.advance(2)
    assert budget.take("rs", "Normal")
    assert not budget.take("rs", "Normal")
