"""A Job runs `parallelism` pods at a time until `completions` succeed, then is Complete;
its selector and pod labels are generated from its uid; pods are owned by it."""

from __future__ import annotations

from typing import Any

from ctrlharness import Env, make_env
from polling import until

from jetkube.schemas.objects import Obj
from jetkube.services.controllers import job as jobctl
from jetkube.services.controllers.context import ControllerContext, ControllerManagerOptions


def job_body(name: str, **spec: Any) -> Obj:
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name},
            "spec": {"template": {"metadata": {"labels": {"app": name}}, "spec": {
                "restartPolicy": "Never",
                "containers": [{"name": "c", "image": "busybox"}]}}, **spec}}


async def pods(env: Env, *, live_only: bool = True) -> list[Obj]:
    items = await env.objects("/api/v1/namespaces/default/pods")
    return [p for p in items if not live_only or (
        p["status"].get("phase") not in ("Succeeded", "Failed")
        and not p["metadata"].get("deletionTimestamp"))]


async def finish(env: Env, pod: Obj, phase: str) -> None:
    pod = await env.client.get("pods", "default", pod["metadata"]["name"])
    pod["status"] = {"phase": phase}
    await env.client.update_status("pods", "default", pod["metadata"]["name"], pod)


async def job_status(env: Env, name: str) -> Obj:
    return (await env.client.get("jobs", "default", name)).get("status") or {}


def condition(status: Obj, ctype: str) -> Obj | None:
    return next((c for c in status.get("conditions") or [] if c["type"] == ctype), None)


async def wait_pods(env: Env, n: int) -> list[Obj]:
    return await until(lambda: pods(env), accept=lambda got: len(got) == n, message=f"{n} live pods")


async def test_job_runs_parallelism_pods_until_completions_succeed() -> None:
    env = await make_env()
    try:
        await env.start(jobctl.build(ControllerContext(env.rt, ControllerManagerOptions())))
        job = await env.client.create("jobs", "default", job_body("work", completions=4,
                                                                   parallelism=2))
        uid = job["metadata"]["uid"]
        first = await wait_pods(env, 2)
        for p in first:
            md = p["metadata"]
            assert md["name"].startswith("work-")
            assert md["ownerReferences"] == [{"apiVersion": "batch/v1", "kind": "Job",
                                              "name": "work", "uid": uid, "controller": True,
                                              "blockOwnerDeletion": True}]
            assert {"app": "work", "controller-uid": uid, "job-name": "work",
                    "batch.kubernetes.io/controller-uid": uid,
                    "batch.kubernetes.io/job-name": "work"}.items() <= md["labels"].items()
        stored = await env.client.get("jobs", "default", "work")
        if stored["spec"].get("selector") is not None:  # when the API server accepts it
            assert stored["spec"]["selector"]["matchLabels"][
                "batch.kubernetes.io/controller-uid"] == uid
        await env.until(lambda: (env.rt.informers.informer("jobs").get("jobs.default.work")
                                 or {}).get("status", {}).get("active") == 2)
        st = await job_status(env, "work")
        assert st["startTime"] and st["succeeded"] == 0

        await finish(env, first[0], "Succeeded")
        await env.settle()
        second = await wait_pods(env, 2)  # one replacement for the success
        assert len({p["metadata"]["name"] for p in first + second}) == 3
        for p in second:
            await finish(env, p, "Succeeded")
        await env.settle()
        last = await wait_pods(env, 1)  # 3 succeeded: only one more is needed
        await finish(env, last[0], "Succeeded")
        await env.until(lambda: condition((env.rt.informers.informer("jobs").get(
            "jobs.default.work") or {}).get("status") or {}, "Complete") is not None)
        st = await job_status(env, "work")
        assert condition(st, "Complete")["status"] == "True"  # type: ignore[index]
        assert st["succeeded"] == 4 and st["active"] == 0 and st["failed"] == 0
        assert st["completionTime"]
        assert len(await pods(env, live_only=False)) == 4
    finally:
        await env.close()


async def test_job_without_completions_finishes_when_one_pod_succeeds() -> None:
    env = await make_env()
    try:
        await env.start(jobctl.build(ControllerContext(env.rt, ControllerManagerOptions())))
        await env.client.create("jobs", "default", job_body("queue", parallelism=3))
        running = await wait_pods(env, 3)
        await finish(env, running[0], "Succeeded")
        await env.settle()
        # the others are left to finish; no new pods are started
        assert len(await pods(env)) == 2
        for p in running[1:]:
            await finish(env, p, "Succeeded")
        await env.until(lambda: condition((env.rt.informers.informer("jobs").get(
            "jobs.default.queue") or {}).get("status") or {}, "Complete") is not None)
        assert (await job_status(env, "queue"))["succeeded"] == 3
    finally:
        await env.close()


async def test_suspended_job_runs_no_pods_until_resumed() -> None:
    env = await make_env()
    try:
        await env.start(jobctl.build(ControllerContext(env.rt, ControllerManagerOptions())))
        await env.client.create("jobs", "default", job_body("later", completions=2,
                                                            parallelism=2, suspend=True))
        await env.until(lambda: condition((env.rt.informers.informer("jobs").get(
            "jobs.default.later") or {}).get("status") or {}, "Suspended") is not None)
        assert await pods(env) == []
        job = await env.client.get("jobs", "default", "later")
        job["spec"]["suspend"] = False
        await env.client.update("jobs", "default", "later", job)
        await wait_pods(env, 2)
        await env.until(lambda: condition((env.rt.informers.informer("jobs").get(
            "jobs.default.later") or {}).get("status") or {}, "Suspended")["status"]  # type: ignore[index]
            == "False")
        job = await env.client.get("jobs", "default", "later")
        job["spec"]["suspend"] = True
        await env.client.update("jobs", "default", "later", job)
        await wait_pods(env, 0)
    finally:
        await env.close()


async def test_indexed_job_runs_each_index_until_it_succeeds() -> None:
    env = await make_env()
    try:
        await env.start(jobctl.build(ControllerContext(env.rt, ControllerManagerOptions())))
        await env.client.create("jobs", "default", job_body(
            "idx", completions=3, parallelism=2, completionMode="Indexed"))
        running = await wait_pods(env, 2)
        index = "batch.kubernetes.io/job-completion-index"
        assert sorted(p["metadata"]["annotations"][index] for p in running) == ["0", "1"]
        p0 = next(p for p in running if p["metadata"]["annotations"][index] == "0")
        assert p0["spec"]["hostname"] == "idx-0"
        assert p0["spec"]["containers"][0]["env"][0]["name"] == "JOB_COMPLETION_INDEX"
        await finish(env, p0, "Succeeded")
        await env.settle()
        running = await wait_pods(env, 2)
        assert sorted(p["metadata"]["annotations"][index] for p in running) == ["1", "2"]
        await env.until(lambda: ((env.rt.informers.informer("jobs").get("jobs.default.idx")
                                  or {}).get("status") or {}).get("completedIndexes") == "0")
        for p in running:
            await finish(env, p, "Succeeded")
        await env.until(lambda: condition((env.rt.informers.informer("jobs").get(
            "jobs.default.idx") or {}).get("status") or {}, "Complete") is not None)
        st = await job_status(env, "idx")
        assert st["completedIndexes"] == "0-2" and st["succeeded"] == 3
    finally:
        await env.close()
