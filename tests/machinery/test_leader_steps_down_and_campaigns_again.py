"""A leader-elected service never exits because leading ended (issue 11): when its Lease
cannot be renewed (the API server away longer than the renew deadline) or its body
fails, it steps down (the body is cancelled, that term's informers stop) and campaigns
again, and its next term runs on fresh informers.  On fake time, over the in-process API
server (ctrlharness), with a switch that makes every API call fail as a partition does."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

from ctrlharness import Env, LocalApiClient

from jetkube.schemas.objects import Obj
from jetkube.services.machinery.apimachinery import apierrors
from jetkube.services.machinery.service import ServiceRuntime, lead_forever

LEASE = "test-controller"


class Partitionable(LocalApiClient):
    """The in-process API client, cut off from the API server while ``down``."""

    down = False

    async def send(self, subject: str, payload: bytes, headers: dict[str, str]) -> tuple[int, Obj]:
        if self.down:
            e = apierrors.ApiError(503, "ServiceUnavailable", "no API server answered")
            return e.code, e.to_status()
        return await super().send(subject, payload, headers)


class Terms:
    def __init__(self) -> None:
        self.started: list[ServiceRuntime] = []
        self.cancelled = 0
        self.fail_next = False

    async def body(self, term: ServiceRuntime) -> None:
        term.informers.informer("pods")
        term.informers.start()
        if self.fail_next:
            self.fail_next = False
            raise RuntimeError("a controller crashed")
        try:
            await asyncio.Event().wait()  # the controllers run here
        except asyncio.CancelledError:
            self.cancelled += 1
            raise


async def holder(env: Env) -> Any:
    lease = await env.api.ok("GET", f"/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/{LEASE}")
    return lease["spec"].get("holderIdentity")


async def test_a_leader_cut_off_past_its_renew_deadline_steps_down_and_leads_again(
        env: Env) -> None:
    api = Partitionable(env.api.front)
    rt = replace(env.rt, api=api, identity="cm-a")
    terms = Terms()
    task = asyncio.create_task(lead_forever(rt, LEASE, terms.body, on_term=terms.started.append))
    await env.clock.advance(3)
    assert len(terms.started) == 1 and await holder(env) == "cm-a"
    first = terms.started[0]

    api.down = True  # longer than the renew deadline (10 s of the default settings)
    await env.clock.advance(12)
    assert terms.cancelled == 1 and not task.done()  # stepped down, did not exit
    assert first.informers.informer("pods")._stopped  # that term's informers are gone

    api.down = False  # back: it campaigns again and leads a new term
    for _ in range(40):
        if len(terms.started) == 2:
            break
        await env.clock.advance(1)
    assert len(terms.started) == 2 and await holder(env) == "cm-a"
    second = terms.started[1]
    assert second.informers is not first.informers and second.events is not first.events
    assert not task.done()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_a_body_that_fails_hands_the_lease_back_and_campaigns_again(env: Env) -> None:
    api = Partitionable(env.api.front)
    rt = replace(env.rt, api=api, identity="sched-a")
    terms = Terms()
    terms.fail_next = True
    task = asyncio.create_task(lead_forever(rt, LEASE, terms.body, on_term=terms.started.append))
    for _ in range(20):
        if len(terms.started) == 2:
            break
        await env.clock.advance(1)
    assert len(terms.started) == 2 and not task.done()  # failed once, leads again
    assert await holder(env) == "sched-a"
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
