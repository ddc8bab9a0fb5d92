"""A rollout that makes no progress for progressDeadlineSeconds gets Progressing=False,
reason ProgressDeadlineExceeded, found by a requeue when the deadline falls due (not by
polling); progress moves the deadline; completing afterwards reports NewReplicaSetAvailable."""

from __future__ import annotations

from workload_helpers import (
    DEPLOY_PATH,
    Env,
    conditions,
    deployment,
    get,
    make_env,
    make_ready,
    pods,
    ready_all,
    wait_for,
)

from jetkube.services.controllers.deployment import DeploymentController
from jetkube.services.controllers.replicaset import ReplicaSetController


async def progressing(env: Env) -> tuple[str, str]:
    c = conditions(await get(env, "deployments", "web")).get("Progressing", {})
    return c.get("status", ""), c.get("reason", "")


async def test_deadline_exceeded_then_recovers() -> None:
    env = await make_env()
    await env.start(ReplicaSetController(env.rt).controller)
    dc = DeploymentController(env.rt)
    await env.start(dc.controller)
    try:
        await env.api.ok("POST", DEPLOY_PATH, deployment("web", 2, progressDeadlineSeconds=30))

        async def two() -> bool:
            return len(await pods(env)) == 2

        await wait_for(env, two)
        await env.settle()
        assert await progressing(env) in {("True", "NewReplicaSetCreated"),
                                          ("True", "ReplicaSetUpdated")}
        await env.clock.advance(20)
        await make_ready(env, (await pods(env))[0])  # progress at t=20 moves the deadline

        async def updated() -> bool:
            c = conditions(await get(env, "deployments", "web")).get("Progressing", {})
            return (c.get("reason"), c.get("lastUpdateTime")) == (
                "ReplicaSetUpdated", "2024-01-01T00:00:20Z")

        await wait_for(env, updated)
        await env.settle()
        before = dc.controller.reconciles
        await env.clock.advance(29)  # t=49: 29 s since the last progress
        await env.settle()
        assert await progressing(env) == ("True", "ReplicaSetUpdated")
        await env.clock.advance(3)  # t=52: past 20 + 30 (+1 s of requeue slack)

        async def timed_out() -> bool:
            return await progressing(env) == ("False", "ProgressDeadlineExceeded")

        await wait_for(env, timed_out)
        assert dc.controller.reconciles - before <= 4  # woken by the deadline, not a poll
        c = conditions(await get(env, "deployments", "web"))["Progressing"]
        assert c["message"].endswith("has timed out progressing.")
        assert c["message"].startswith('ReplicaSet "web-')
        await env.clock.advance(600)
        await env.settle()
        assert await progressing(env) == ("False", "ProgressDeadlineExceeded")  # stays

        await ready_all(env)

        async def complete() -> bool:
            return await progressing(env) == ("True", "NewReplicaSetAvailable")

        await wait_for(env, complete)
        assert conditions(await get(env, "deployments", "web"))["Available"]["status"] == "True"
    finally:
        await env.close()


async def test_no_progressing_condition_without_a_deadline() -> None:
    env = await make_env()
    await env.start(ReplicaSetController(env.rt).controller)
    await env.start(DeploymentController(env.rt).controller)
    try:
        await env.api.ok("POST", DEPLOY_PATH, deployment(
            "web", 1, progressDeadlineSeconds=2**31 - 1))

        async def one() -> bool:
            return len(await pods(env)) == 1

        await wait_for(env, one)
        await ready_all(env)

        async def available() -> bool:
            return "Available" in conditions(await get(env, "deployments", "web"))

        await wait_for(env, available)
        await env.settle()
        assert "Progressing" not in conditions(await get(env, "deployments", "web"))
    finally:
        await env.close()
