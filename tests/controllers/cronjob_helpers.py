"""Shared set-up of the cronjob and ttl-after-finished controller tests: a harness whose
API server stamps ``creationTimestamp`` with the harness's fake clock (which starts at the
real time, so wall-clock readers agree), CronJob bodies, and Job status writes (no Job
controller runs)."""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from ctrlharness import Env, make_env

from jetkube.schemas import format_time, parse_time
from jetkube.schemas.cron import parse_standard
from jetkube.schemas.objects import Obj
from jetkube.services.controllers import cronjob as cronjobctl
from jetkube.services.controllers.context import ControllerContext, ControllerManagerOptions
from jetkube.services.machinery.runtime import FakeClock

NS = "default"


async def cron_env(start_controller: bool = True) -> tuple[Env, Any]:
    """A harness (a fake clock the API server stamps times with) and the cronjob controller."""
    clock = FakeClock(datetime.fromtimestamp(math.ceil(time.time()), UTC))
    env = await make_env(clock=clock)
    env.api.front.handlers.now = clock.now
    ctl = cronjobctl.build(ControllerContext(env.rt, ControllerManagerOptions()))
    if start_controller:
        await env.start(ctl)
    return env, ctl


def cronjob(name: str, schedule: str, **spec: Any) -> Obj:
    return {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": name},
            "spec": {"schedule": schedule, **spec, "jobTemplate": {
                "metadata": {"labels": {"app": name}},
                "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [
                    {"name": "c", "image": "busybox"}]}}}}}}


def cached(env: Env, resource: str, name: str) -> Obj | None:
    return env.rt.informers.informer(resource).get(f"{resource}.{NS}.{name}")


def status(env: Env, name: str) -> Obj:
    return (cached(env, "cronjobs", name) or {}).get("status") or {}


def active_names(env: Env, name: str) -> list[str]:
    return sorted(r["name"] for r in status(env, name).get("active") or [])


async def jobs(env: Env) -> list[Obj]:
    return await env.objects(f"/apis/batch/v1/namespaces/{NS}/jobs")


async def job_names(env: Env) -> list[str]:
    return sorted(j["metadata"]["name"] for j in await jobs(env))


async def advance_to(env: Env, when: datetime) -> None:
    """Move the fake clock to ``when`` (plus the controller's 100 ms of skew margin), or
    leave it where it is when it is already there (time never goes back)."""
    await env.clock.advance(max(0.0, (when - env.clock.now()).total_seconds() + 0.2))


async def next_activation(env: Env, name: str) -> datetime:
    """The first activation after the CronJob's last one (or its creation)."""
    cj = cached(env, "cronjobs", name)
    assert cj is not None
    last = parse_time(status(env, name).get("lastScheduleTime")) or parse_time(
        cj["metadata"]["creationTimestamp"])
    assert last is not None
    nxt = parse_standard(cj["spec"]["schedule"]).next(last)
    assert nxt is not None
    return nxt


async def finish_job(env: Env, job: str, condition: str = "Complete",
                     after: timedelta = timedelta(0)) -> None:
    """Write a Job's status as the Job controller would when it finishes."""
    body = await env.client.get("jobs", NS, job)
    now = format_time(env.clock.now() + after)
    body["status"] = {"startTime": now, "conditions": [
        {"type": condition, "status": "True", "lastTransitionTime": now}]}
    if condition == "Complete":
        body["status"]["completionTime"] = now
    await env.client.update_status("jobs", NS, job, body)


async def events(env: Env, name: str) -> list[tuple[str, str]]:
    """(reason, message) of the events about the CronJob ``name``."""
    await env.rt.events.flush()
    return [(e["reason"], e["message"])
            for e in await env.objects(f"/api/v1/namespaces/{NS}/events")
            if e["involvedObject"].get("name") == name]
