"""Failed pods are replaced after an exponential back-off (fake time); more failures than
backoffLimit fail the Job with reason BackoffLimitExceeded and delete its active pods."""

from __future__ import annotations

from typing import Any

from ctrlharness import Env, make_env

from jetkube.schemas.objects import Obj
from jetkube.services.controllers import job as jobctl
from jetkube.services.controllers.context import ControllerContext, ControllerManagerOptions


def job_body(name: str, **spec: Any) -> Obj:
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name},
            "spec": {"template": {"spec": {"restartPolicy": "Never",
                                           "containers": [{"name": "c", "image": "busybox"}]}},
                     **spec}}


async def live_pods(env: Env) -> list[Obj]:
    return [p for p in await env.objects("/api/v1/namespaces/default/pods")
            if p["status"].get("phase") not in ("Succeeded", "Failed")
            and not p["metadata"].get("deletionTimestamp")]


async def fail(env: Env, pod: Obj) -> None:
    pod = await env.client.get("pods", "default", pod["metadata"]["name"])
    pod["status"] = {"phase": "Failed"}
    await env.client.update_status("pods", "default", pod["metadata"]["name"], pod)
    await env.settle()


def status(env: Env, name: str) -> Obj:
    return (env.rt.informers.informer("jobs").get(f"jobs.default.{name}") or {}).get(
        "status") or {}


async def test_failures_back_off_then_exceed_the_limit() -> None:
    env = await make_env()
    try:
        await env.start(jobctl.build(ControllerContext(env.rt, ControllerManagerOptions())))
        await env.client.create("jobs", "default", job_body("flaky", backoffLimit=2,
                                                            completions=2, parallelism=2))
        await env.until(lambda: status(env, "flaky").get("active") == 2)
        pods = await live_pods(env)
        await fail(env, pods[0])  # failure 1: replaced after 10 s
        await env.until(lambda: status(env, "flaky").get("failed") == 1)
        assert len(await live_pods(env)) == 1
        await env.clock.advance(9)
        assert len(await live_pods(env)) == 1
        await env.clock.advance(1.5)
        await env.until(lambda: status(env, "flaky").get("active") == 2)
        pods = await live_pods(env)
        await fail(env, pods[0])  # failure 2: replaced after 20 s
        await env.until(lambda: status(env, "flaky").get("failed") == 2)
        await env.clock.advance(19)
        assert len(await live_pods(env)) == 1
        await env.clock.advance(1.5)
        await env.until(lambda: status(env, "flaky").get("active") == 2)
        assert not any(c["type"] == "Failed" for c in status(env, "flaky").get("conditions", []))

        pods = await live_pods(env)
        await fail(env, pods[0])  # failure 3 > backoffLimit 2
        await env.until(lambda: any(c["type"] == "Failed"
                                    for c in status(env, "flaky").get("conditions", [])))
        st = status(env, "flaky")
        failed = next(c for c in st["conditions"] if c["type"] == "Failed")
        assert failed["status"] == "True" and failed["reason"] == "BackoffLimitExceeded"
        assert failed["message"] == "Job has reached the specified backoff limit"
        assert any(c["type"] == "FailureTarget" for c in st["conditions"])
        assert st["active"] == 0 and st["failed"] == 4  # the deleted active pod counts
        assert "completionTime" not in st
        assert await live_pods(env) == []
        await env.rt.events.flush()
        events = await env.objects("/api/v1/namespaces/default/events")
        assert "BackoffLimitExceeded" in {e["reason"] for e in events}
    finally:
        await env.close()


async def test_backoff_limit_zero_fails_on_the_first_failure() -> None:
    env = await make_env()
    try:
        await env.start(jobctl.build(ControllerContext(env.rt, ControllerManagerOptions())))
        await env.client.create("jobs", "default", job_body("once", backoffLimit=0))
        await env.until(lambda: status(env, "once").get("active") == 1)
        await fail(env, (await live_pods(env))[0])
        await env.until(lambda: any(c["type"] == "Failed" and c["reason"] ==
                                    "BackoffLimitExceeded"
                                    for c in status(env, "once").get("conditions", [])))
        assert status(env, "once")["failed"] == 1
    finally:
        await env.close()
