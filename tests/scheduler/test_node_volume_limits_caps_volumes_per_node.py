"""NodeVolumeLimits with the real scheduler, persistentvolume controller and local-path
provisioner on the in-process API server: a node whose allocatable says it attaches one
``jetkube.io/local-path`` volume takes one pod with a claim, the next pod with another
claim goes to the node without a limit, and once that node is cordoned a third waits,
"node(s) exceed max volume count"; two pods sharing one claim count it once."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator

import pytest
from ctrlharness import Env, make_env
from test_volume_binding_places_pods_with_their_volumes import add_claim, node_of, with_claim

from jetkube.services.controllers import localpath, persistentvolume
from jetkube.services.controllers.context import ControllerContext, ControllerManagerOptions
from jetkube.services.scheduler.plugins.node_volume_limits import (
    LIMIT_PREFIX,
    REASON_MAX_VOLUME_COUNT,
)
from jetkube.services.scheduler.scheduler import Scheduler
from jetkube.services.scheduler.testing import create_node, create_pod, make_node

DRIVER = "jetkube.io/local-path"


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    env = await make_env()
    ctx = ControllerContext(env.rt, ControllerManagerOptions())
    await env.start(persistentvolume.build(ctx))
    await env.start(localpath.build(ctx))
    await env.start(Scheduler(env.rt, rng=random.Random(1)))
    await env.client.create("storageclasses", None, {
        "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": "lp"},
        "provisioner": DRIVER, "volumeBindingMode": "WaitForFirstConsumer"})
    for name, limit in (("small", {LIMIT_PREFIX + DRIVER: "1"}), ("big", None)):
        node = make_node(name, extended=limit)
        node["status"]["conditions"] = [{"type": "Ready", "status": "True"}]
        await create_node(env.client, node)
    yield env
    await env.close()


async def scheduled_message(env: Env, pod: str) -> str:
    async def message() -> str | None:
        p = await env.client.get("pods", "default", pod)
        conds = [c for c in (p.get("status") or {}).get("conditions") or ()
                 if c["type"] == "PodScheduled" and c.get("status") == "False"]
        return conds[0].get("message") if conds else None
    out: str = await env.until(message, message=f"pod {pod} reported unschedulable")
    return out


async def test_a_node_takes_no_more_volumes_than_it_can_attach(env: Env) -> None:
    await add_claim(env, "a", "lp")
    await create_pod(env.client, with_claim("pa", "a"))
    first = await node_of(env, "pa")
    await add_claim(env, "b", "lp")
    await create_pod(env.client, with_claim("pb", "b"))
    second = await node_of(env, "pb")
    assert {first, second} == {"small", "big"}  # "small" holds one volume at most
    cordon = await env.client.get("nodes", None, "big")
    cordon["spec"]["unschedulable"] = True
    await env.client.update("nodes", None, "big", cordon)
    await add_claim(env, "c", "lp")
    await create_pod(env.client, with_claim("pc", "c"))
    assert REASON_MAX_VOLUME_COUNT in await scheduled_message(env, "pc")


async def test_a_claim_two_pods_share_counts_once(env: Env) -> None:
    cordon = await env.client.get("nodes", None, "big")
    cordon["spec"]["unschedulable"] = True
    await env.client.update("nodes", None, "big", cordon)
    await add_claim(env, "shared", "lp")
    await create_pod(env.client, with_claim("p1", "shared"))
    assert await node_of(env, "p1") == "small"
    await create_pod(env.client, with_claim("p2", "shared"))
    assert await node_of(env, "p2") == "small"
