"""Missed activations, as Kubernetes handles them: after the controller was down only the
most recent missed activation runs; more than 100 missed gives a TooManyMissedTimes warning;
startingDeadlineSeconds drops an activation older than the deadline; a suspended CronJob
runs nothing, and on resume runs the most recent activation it missed."""

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
    job_names,
    next_activation,
    status,
)

from jetkube.schemas import format_time
from jetkube.services.controllers import cronjob as cronjobctl
from jetkube.services.controllers.context import ControllerContext, ControllerManagerOptions


def name_at(cj: str, when: object) -> str:
    return f"{cj}-{int(when.timestamp()) // 60}"  # type: ignore[attr-defined]


async def test_after_an_outage_only_the_most_recent_missed_time_runs() -> None:
    env, ctl = await cron_env(start_controller=False)
    try:
        await env.client.create("cronjobs", NS, cronjob("hourly", "0 * * * *"))
        await env.clock.advance(5 * 3600 + 600)  # five activations pass with no controller
        await env.start(ctl)
        # the most recent hour at or before now: the sixth hour mark when the fake clock
        # started at minute 50 or later, the fifth otherwise
        latest = env.clock.now().replace(minute=0, second=0, microsecond=0)
        await env.until(lambda: active_names(env, "hourly") == [name_at("hourly", latest)])
        assert await job_names(env) == [name_at("hourly", latest)]
        assert status(env, "hourly")["lastScheduleTime"] == format_time(latest)
        assert "TooManyMissedTimes" not in [r for r, _ in await events(env, "hourly")]
    finally:
        await env.close()


async def test_more_than_a_hundred_missed_times_warn_and_still_run_the_latest() -> None:
    env, ctl = await cron_env(start_controller=False)
    try:
        await env.client.create("cronjobs", NS, cronjob("often", "* * * * *"))
        await env.clock.advance(150 * 60)
        await env.start(ctl)
        await env.until(lambda: len(active_names(env, "often")) == 1)
        latest = env.clock.now().replace(second=0, microsecond=0)
        assert active_names(env, "often") == [name_at("often", latest)]
        warnings = [m for r, m in await events(env, "often") if r == "TooManyMissedTimes"]
        assert len(warnings) == 1 and warnings[0].startswith("too many missed start times: 1")
        assert warnings[0].endswith("Set or decrease .spec.startingDeadlineSeconds or check "
                                    "clock skew")
    finally:
        await env.close()


async def test_starting_deadline_drops_an_activation_missed_by_more_than_it() -> None:
    env, ctl = await cron_env(start_controller=False)
    try:
        await env.client.create("cronjobs", NS, cronjob("strict", "*/10 * * * *",
                                                        startingDeadlineSeconds=60))
        await env.start(ctl)
        await env.until(lambda: cached(env, "cronjobs", "strict"))
        first = await next_activation(env, "strict")
        await ctl.stop(1.0)  # the controller is down at the activation, up 2 minutes later
        await advance_to(env, first + timedelta(minutes=2))
        restarted = await env.start(cronjobctl.build(ControllerContext(
            env.rt, ControllerManagerOptions())))
        await env.until(lambda: restarted.reconciles > 0)
        await env.settle()
        assert await job_names(env) == []
        second = first + timedelta(minutes=10)
        await advance_to(env, second + timedelta(seconds=30))  # within the deadline
        await env.until(lambda: active_names(env, "strict") == [name_at("strict", second)])
    finally:
        await env.close()


async def test_a_suspended_cronjob_runs_nothing_and_on_resume_the_latest_missed_time() -> None:
    env, _ = await cron_env()
    try:
        await env.client.create("cronjobs", NS, cronjob("paused", "*/5 * * * *", suspend=True))
        await env.until(lambda: cached(env, "cronjobs", "paused"))
        first = await next_activation(env, "paused")
        await advance_to(env, first + timedelta(minutes=11))
        await env.settle()
        assert await job_names(env) == []
        cj = await env.client.get("cronjobs", NS, "paused")
        cj["spec"]["suspend"] = False
        await env.client.update("cronjobs", NS, "paused", cj)
        latest = first + timedelta(minutes=10)
        await env.until(lambda: active_names(env, "paused") == [name_at("paused", latest)])
        assert await job_names(env) == [name_at("paused", latest)]
    finally:
        await env.close()
