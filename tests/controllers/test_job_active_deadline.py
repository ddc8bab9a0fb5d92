"""activeDeadlineSeconds, timed on the fake clock from status.startTime: past it the Job is
Failed with reason DeadlineExceeded and its running pods are deleted."""

from __future__ import annotations

from ctrlharness import Env, make_env

from jetkube.schemas.objects import Obj
from jetkube.services.controllers import job as jobctl
from jetkube.services.controllers.context import ControllerContext, ControllerManagerOptions


def status(env: Env, name: str) -> Obj:
    return (env.rt.informers.informer("jobs").get(f"jobs.default.{name}") or {}).get(
        "status") or {}


def failed_reason(env: Env, name: str) -> str | None:
    return next((c["reason"] for c in status(env, name).get("conditions", [])
                 if c["type"] == "Failed" and c["status"] == "True"), None)


async def test_job_past_its_deadline_fails_and_its_pods_go() -> None:
    env = await make_env()
    try:
        await env.start(jobctl.build(ControllerContext(env.rt, ControllerManagerOptions())))
        await env.client.create("jobs", "default", {
            "apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "slow"},
            "spec": {"activeDeadlineSeconds": 30, "parallelism": 2, "completions": 5,
                     "template": {"spec": {"restartPolicy": "Never", "containers": [
                         {"name": "c", "image": "busybox"}]}}}})
        await env.until(lambda: status(env, "slow").get("active") == 2)
        assert status(env, "slow")["startTime"] == "2024-01-01T00:00:00Z"  # the fake clock
        await env.clock.advance(29)
        await env.settle()
        assert failed_reason(env, "slow") is None
        await env.clock.advance(1.5)
        await env.until(lambda: failed_reason(env, "slow") is not None)
        assert failed_reason(env, "slow") == "DeadlineExceeded"
        cond = next(c for c in status(env, "slow")["conditions"] if c["type"] == "Failed")
        assert cond["message"] == "Job was active longer than specified deadline"
        pods = await env.objects("/api/v1/namespaces/default/pods")
        assert pods == []  # unbound pods are deleted at once
        assert status(env, "slow")["active"] == 0 and status(env, "slow")["failed"] == 2
    finally:
        await env.close()


async def test_job_finishing_in_time_is_complete_not_failed() -> None:
    env = await make_env()
    try:
        await env.start(jobctl.build(ControllerContext(env.rt, ControllerManagerOptions())))
        await env.client.create("jobs", "default", {
            "apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "quick"},
            "spec": {"activeDeadlineSeconds": 30, "template": {"spec": {
                "restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]}}}})
        await env.until(lambda: status(env, "quick").get("active") == 1)
        await env.clock.advance(10)
        pod = (await env.objects("/api/v1/namespaces/default/pods"))[0]
        pod["status"] = {"phase": "Succeeded"}
        await env.client.update_status("pods", "default", pod["metadata"]["name"], pod)
        await env.until(lambda: any(c["type"] == "Complete"
                                    for c in status(env, "quick").get("conditions", [])))
        await env.clock.advance(60)
        await env.settle()
        assert failed_reason(env, "quick") is None
        assert status(env, "quick")["completionTime"] == "2024-01-01T00:00:10Z"
    finally:
        await env.close()
