"""The ttl-after-finished controller deletes a finished Job ttlSecondsAfterFinished after its
Complete/Failed condition's transition, in the foreground (pods first); a Job without a TTL,
or not finished, stays; a TTL raised before it expired is honoured."""

from __future__ import annotations

from datetime import timedelta

from cronjob_helpers import NS, cached, finish_job
from ctrlharness import Env, make_env

from jetkube.schemas.objects import Obj
from jetkube.services.controllers import ttlafterfinished
from jetkube.services.controllers.context import ControllerContext, ControllerManagerOptions


def job(name: str, ttl: int | None) -> Obj:
    spec: Obj = {"template": {"spec": {"restartPolicy": "Never", "containers": [
        {"name": "c", "image": "busybox"}]}}}
    if ttl is not None:
        spec["ttlSecondsAfterFinished"] = ttl
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name}, "spec": spec}


async def ttl_env() -> Env:
    env = await make_env()
    await env.start(ttlafterfinished.build(ControllerContext(env.rt,
                                                             ControllerManagerOptions())))
    return env


def deleting(env: Env, name: str) -> bool:
    md = (cached(env, "jobs", name) or {}).get("metadata") or {}
    return bool(md.get("deletionTimestamp"))


async def test_a_finished_job_is_deleted_in_the_foreground_when_its_ttl_expires() -> None:
    env = await ttl_env()
    try:
        await env.client.create("jobs", NS, job("short", 100))
        await env.client.create("jobs", NS, job("forever", None))
        await finish_job(env, "short", "Failed")
        await finish_job(env, "forever")
        await env.until(lambda: (cached(env, "jobs", "short") or {}).get("status"))
        await env.clock.advance(99)
        await env.settle()
        assert not deleting(env, "short")
        await env.clock.advance(2)
        await env.until(lambda: deleting(env, "short"))
        md = (await env.client.get("jobs", NS, "short"))["metadata"]
        assert md["finalizers"] == ["foregroundDeletion"]  # the GC deletes the pods first
        await env.clock.advance(10_000)
        await env.settle()
        assert not deleting(env, "forever")
    finally:
        await env.close()


async def test_an_unfinished_job_with_a_ttl_is_kept() -> None:
    env = await ttl_env()
    try:
        await env.client.create("jobs", NS, job("running", 5))
        await env.until(lambda: cached(env, "jobs", "running"))
        await env.clock.advance(60)
        await env.settle()
        assert not deleting(env, "running")
    finally:
        await env.close()


async def test_a_ttl_raised_before_expiry_postpones_the_deletion() -> None:
    env = await ttl_env()
    try:
        await env.client.create("jobs", NS, job("longer", 30))
        await finish_job(env, "longer", after=timedelta(0))
        await env.until(lambda: (cached(env, "jobs", "longer") or {}).get("status"))
        await env.clock.advance(20)
        body = await env.client.get("jobs", NS, "longer")
        body["spec"]["ttlSecondsAfterFinished"] = 300
        await env.client.update("jobs", NS, "longer", body)
        await env.clock.advance(20)  # past the old TTL
        await env.settle()
        assert not deleting(env, "longer")
        await env.clock.advance(261)
        await env.until(lambda: deleting(env, "longer"))
    finally:
        await env.close()
