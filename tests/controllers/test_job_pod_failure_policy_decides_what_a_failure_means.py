"""A Job's podFailurePolicy, applied by the Job controller: a FailJob rule on an exit code
fails the Job at once (reason PodFailurePolicy); an Ignore rule on the DisruptionTarget
condition neither counts the pod nor stops its replacement; Count counts towards
backoffLimit; no matching rule counts too.  With podReplacementPolicy Failed (the default
with a podFailurePolicy) a terminating pod is replaced only once it has failed."""

from __future__ import annotations

from typing import Any

from ctrlharness import Env, make_env

from jetkube.schemas.objects import Obj
from jetkube.services.controllers import job as jobctl
from jetkube.services.controllers.context import ControllerContext, ControllerManagerOptions

NS = "default"
RULES: list[dict[str, Any]] = [
    {"action": "FailJob", "onExitCodes": {"containerName": "main", "operator": "In",
                                          "values": [42]}},
    {"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget"}]},
    {"action": "Count", "onExitCodes": {"operator": "NotIn", "values": [42]}},
]


def job(name: str, backoff_limit: int) -> Obj:
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name},
            "spec": {"backoffLimit": backoff_limit, "podFailurePolicy": {"rules": RULES},
                     "template": {"spec": {"restartPolicy": "Never", "containers": [
                         {"name": "main", "image": "busybox"}]}}}}


def status(env: Env, name: str) -> Obj:
    return (env.rt.informers.informer("jobs").get(f"jobs.{NS}.{name}") or {}).get(
        "status") or {}


def condition(env: Env, name: str, ctype: str) -> Obj | None:
    return next((c for c in status(env, name).get("conditions") or []
                 if c["type"] == ctype and c["status"] == "True"), None)


async def job_env() -> Env:
    env = await make_env()
    await env.start(jobctl.build(ControllerContext(env.rt, ControllerManagerOptions())))
    return env


async def pods(env: Env) -> list[Obj]:
    return await env.objects(f"/api/v1/namespaces/{NS}/pods")


async def fail_pod(env: Env, pod: Obj, exit_code: int, disrupted: bool = False) -> None:
    pod["status"] = {"phase": "Failed", "containerStatuses": [{
        "name": "main", "image": "busybox", "imageID": "", "ready": False, "restartCount": 0,
        "state": {"terminated": {"exitCode": exit_code, "reason": "Error"}}}]}
    if disrupted:
        pod["status"]["conditions"] = [{"type": "DisruptionTarget", "status": "True",
                                        "reason": "DeletionByTaintManager"}]
    await env.client.update_status("pods", NS, pod["metadata"]["name"], pod)


async def test_an_exit_code_matching_a_fail_job_rule_fails_the_job_at_once() -> None:
    env = await job_env()
    try:
        await env.client.create("jobs", NS, job("fatal", 6))
        await env.until(lambda: status(env, "fatal").get("active") == 1)
        pod = (await pods(env))[0]
        await fail_pod(env, pod, 42)
        await env.until(lambda: condition(env, "fatal", "Failed"))
        failed = condition(env, "fatal", "Failed")
        assert failed is not None and failed["reason"] == "PodFailurePolicy"
        assert failed["message"] == (
            f"Container main for pod {NS}/{pod['metadata']['name']} failed with exit code 42 "
            "matching FailJob rule at index 0")
        assert condition(env, "fatal", "FailureTarget") is not None
        assert len(await pods(env)) == 1  # no replacement was made
    finally:
        await env.close()


async def test_a_disrupted_pod_is_ignored_and_replaced_even_with_no_backoff_left() -> None:
    env = await job_env()
    try:
        await env.client.create("jobs", NS, job("evicted", 0))
        await env.until(lambda: status(env, "evicted").get("active") == 1)
        await fail_pod(env, (await pods(env))[0], 137, disrupted=True)
        await env.until(lambda: status(env, "evicted").get("active") == 1
                        and len(env.rt.informers.informer("pods").list(NS)) == 2)
        assert status(env, "evicted")["failed"] == 0
        assert condition(env, "evicted", "Failed") is None
    finally:
        await env.close()


async def test_a_counted_failure_uses_up_the_backoff_limit() -> None:
    env = await job_env()
    try:
        await env.client.create("jobs", NS, job("flaky", 0))
        await env.until(lambda: status(env, "flaky").get("active") == 1)
        await fail_pod(env, (await pods(env))[0], 1)
        await env.until(lambda: condition(env, "flaky", "Failed"))
        cond = condition(env, "flaky", "Failed")
        assert cond is not None and cond["reason"] == "BackoffLimitExceeded"
        assert status(env, "flaky")["failed"] == 1
    finally:
        await env.close()


async def test_a_terminating_pod_is_replaced_only_once_it_failed() -> None:
    env = await job_env()
    try:
        await env.client.create("jobs", NS, job("careful", 3))  # podReplacementPolicy Failed
        await env.until(lambda: status(env, "careful").get("active") == 1)
        pod = (await pods(env))[0]
        name = pod["metadata"]["name"]
        await env.client.bind(NS, name, "node-1")  # bound: its delete is graceful
        await env.client.delete("pods", NS, name)
        await env.until(lambda: status(env, "careful").get("terminating") == 1)
        await env.settle()
        assert [p["metadata"]["name"] for p in await pods(env)] == [name]
        await fail_pod(env, await env.client.get("pods", NS, name), 137, disrupted=True)
        await env.until(lambda: len(env.rt.informers.informer("pods").list(NS)) == 2)
        assert status(env, "careful")["failed"] == 0  # DisruptionTarget: ignored
    finally:
        await env.close()
