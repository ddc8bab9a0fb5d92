"""The cronjob controller creates one Job per activation, named by the scheduled minute,
wakes for the next activation by a delayed work-queue add (no polling), and applies
concurrencyPolicy Allow, Forbid and Replace."""

from __future__ import annotations

from datetime import timedelta

from cronjob_helpers import (
    NS,
    active_names,
    advance_to,
    cached,
    cron_env,
    cronjob,
    events,
    finish_job,
    job_names,
    next_activation,
    status,
)

from jetkube.schemas import format_time, parse_time
from jetkube.schemas.cron import parse_standard


def name_at(cj: str, when: object) -> str:
    return f"{cj}-{int(when.timestamp()) // 60}"  # type: ignore[attr-defined]


async def test_a_job_is_created_at_the_schedule_time_and_not_before() -> None:
    env, _ = await cron_env()
    try:
        await env.client.create("cronjobs", NS, cronjob("tick", "*/5 * * * *"))
        await env.until(lambda: cached(env, "cronjobs", "tick"))
        first = await next_activation(env, "tick")
        await advance_to(env, first - timedelta(seconds=20))
        await env.settle()
        assert await job_names(env) == []
        await advance_to(env, first)
        want = name_at("tick", first)
        await env.until(lambda: active_names(env, "tick") == [want])
        job = await env.client.get("jobs", NS, want)
        md = job["metadata"]
        assert md["annotations"]["batch.kubernetes.io/cronjob-scheduled-timestamp"] == (
            format_time(first))
        assert md["labels"]["app"] == "tick"
        ref = md["ownerReferences"][0]
        assert (ref["kind"], ref["name"], ref["controller"]) == ("CronJob", "tick", True)
        assert status(env, "tick")["lastScheduleTime"] == format_time(first)
        assert ("SuccessfulCreate", f"Created job {want}") in await events(env, "tick")
    finally:
        await env.close()


async def test_between_activations_the_controller_sleeps_until_the_next_one() -> None:
    env, ctl = await cron_env()
    try:
        await env.client.create("cronjobs", NS, cronjob("tick", "*/5 * * * *"))
        await env.until(lambda: cached(env, "cronjobs", "tick"))
        first = await next_activation(env, "tick")
        await advance_to(env, first)
        await env.until(lambda: status(env, "tick").get("lastScheduleTime"))
        await env.settle()
        reconciles = ctl.reconciles
        for _ in range(4):  # four quiet minutes: no reconcile at all
            await env.clock.advance(60)
            await env.settle()
        assert ctl.reconciles == reconciles
        second = first + timedelta(minutes=5)
        await advance_to(env, second)
        await env.until(lambda: len(active_names(env, "tick")) == 2)
        assert active_names(env, "tick") == sorted([name_at("tick", first),
                                                    name_at("tick", second)])  # Allow
    finally:
        await env.close()


async def test_forbid_skips_an_activation_while_a_job_runs() -> None:
    env, _ = await cron_env()
    try:
        await env.client.create("cronjobs", NS, cronjob("solo", "*/5 * * * *",
                                                        concurrencyPolicy="Forbid"))
        await env.until(lambda: cached(env, "cronjobs", "solo"))
        first = await next_activation(env, "solo")
        await advance_to(env, first)
        await env.until(lambda: active_names(env, "solo") == [name_at("solo", first)])
        await advance_to(env, first + timedelta(minutes=5))
        await env.settle()
        assert await job_names(env) == [name_at("solo", first)]
        reasons = [r for r, _ in await events(env, "solo")]
        assert "JobAlreadyActive" in reasons
        # as in Kubernetes, the skipped activation is still the most recent one and
        # not past a startingDeadlineSeconds: it runs, late, once the first Job finished
        second = first + timedelta(minutes=5)
        await finish_job(env, name_at("solo", first))
        await env.until(lambda: active_names(env, "solo") == [name_at("solo", second)])
        assert status(env, "solo")["lastScheduleTime"] == format_time(second)
        assert status(env, "solo")["lastSuccessfulTime"] == format_time(env.clock.now())
        assert ("SawCompletedJob", f"Saw completed job: {name_at('solo', first)}, "
                "condition: Complete") in await events(env, "solo")
    finally:
        await env.close()


async def test_replace_deletes_the_running_job_for_the_new_one() -> None:
    env, _ = await cron_env()
    try:
        await env.client.create("cronjobs", NS, cronjob("swap", "*/5 * * * *",
                                                        concurrencyPolicy="Replace"))
        await env.until(lambda: cached(env, "cronjobs", "swap"))
        first = await next_activation(env, "swap")
        await advance_to(env, first)
        await env.until(lambda: active_names(env, "swap") == [name_at("swap", first)])
        second = first + timedelta(minutes=5)
        await advance_to(env, second)
        await env.until(lambda: active_names(env, "swap") == [name_at("swap", second)])
        assert await job_names(env) == [name_at("swap", second)]
        assert ("SuccessfulDelete", f"Deleted job {name_at('swap', first)}") in await events(
            env, "swap")
    finally:
        await env.close()



async def test_a_new_schedule_counts_from_its_next_activation_not_a_past_one() -> None:
    env, _ = await cron_env()
    try:
        await env.client.create("cronjobs", NS, cronjob("moved", "0 0 1 1 *"))
        await env.until(lambda: cached(env, "cronjobs", "moved"))
        cj = await env.client.get("cronjobs", NS, "moved")
        created = parse_time(cj["metadata"]["creationTimestamp"])
        passed = parse_standard("*/2 * * * *").next(created)  # type: ignore[arg-type]
        assert passed is not None
        await advance_to(env, passed + timedelta(seconds=30))  # (before the 600 s resync)
        cj["spec"]["schedule"] = "*/2 * * * *"
        await env.client.update("cronjobs", NS, "moved", cj)
        await env.until(lambda: (cached(env, "cronjobs", "moved") or {})["spec"][
            "schedule"] == "*/2 * * * *")
        await env.settle()
        assert await job_names(env) == []
        upcoming = passed + timedelta(minutes=2)
        await advance_to(env, upcoming)
        await env.until(lambda: active_names(env, "moved") == [name_at("moved", upcoming)])
    finally:
        await env.close()
