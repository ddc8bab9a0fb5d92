"""The cronjob controller keeps only the history limits' finished Jobs, drops an active Job
that went missing, reports a Job it did not create, and runs a schedule in its timeZone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

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
from polling import until


def name_at(cj: str, when: datetime) -> str:
    return f"{cj}-{int(when.timestamp()) // 60}"


async def test_finished_jobs_beyond_the_history_limits_are_deleted_oldest_first() -> None:
    env, _ = await cron_env()
    try:
        await env.client.create("cronjobs", NS, cronjob(
            "keep", "*/5 * * * *", successfulJobsHistoryLimit=1, failedJobsHistoryLimit=1))
        await env.until(lambda: cached(env, "cronjobs", "keep"))
        t = await next_activation(env, "keep")
        outcomes = ["Complete", "Failed", "Complete", "Failed"]
        names = []
        for i, outcome in enumerate(outcomes):
            when = t + timedelta(minutes=5 * i)
            await advance_to(env, when)
            names.append(name_at("keep", when))
            await env.until(lambda n=names[-1]: active_names(env, "keep") == [n])
            await finish_job(env, names[-1], outcome)
            await env.until(lambda: active_names(env, "keep") == [])
        await until(lambda: job_names(env), accept=lambda got: got == names[2:], timeout=5)
        deleted = sorted(m for r, m in await events(env, "keep") if r == "SuccessfulDelete")
        assert deleted == [f"Deleted job {names[0]}", f"Deleted job {names[1]}"]
    finally:
        await env.close()


async def test_an_active_job_that_went_missing_leaves_the_active_list() -> None:
    env, _ = await cron_env()
    try:
        await env.client.create("cronjobs", NS, cronjob("gone", "*/5 * * * *"))
        await env.until(lambda: cached(env, "cronjobs", "gone"))
        first = await next_activation(env, "gone")
        await advance_to(env, first)
        await env.until(lambda: active_names(env, "gone") == [name_at("gone", first)])
        await env.client.delete("jobs", NS, name_at("gone", first))
        await env.until(lambda: active_names(env, "gone") == [])
        assert ("MissingJob", f"Active job went missing: {name_at('gone', first)}") in (
            await events(env, "gone"))
    finally:
        await env.close()


async def test_a_job_made_from_the_cronjob_by_hand_is_reported_not_adopted() -> None:
    env, _ = await cron_env()
    try:
        cj = await env.client.create("cronjobs", NS, cronjob("manual", "0 0 1 1 *"))
        await env.client.create("jobs", NS, {
            "apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": "manual-now",
                         "annotations": {"cronjob.kubernetes.io/instantiate": "manual"},
                         "ownerReferences": [{"apiVersion": "batch/v1", "kind": "CronJob",
                                              "name": "manual", "uid": cj["metadata"]["uid"],
                                              "controller": True}]},
            "spec": cj["spec"]["jobTemplate"]["spec"]})
        await until(lambda: events(env, "manual"), timeout=5, accept=lambda got: (
            "UnexpectedJob", "Saw a job that the controller did not create or forgot: "
            "manual-now") in got)
        assert active_names(env, "manual") == []
    finally:
        await env.close()


async def test_the_schedule_runs_in_the_cronjobs_time_zone() -> None:
    env, _ = await cron_env()
    try:
        await env.client.create("cronjobs", NS, cronjob("tokyo", "0 9 * * *",
                                                        timeZone="Asia/Tokyo"))
        await env.until(lambda: cached(env, "cronjobs", "tokyo"))
        now = env.clock.now()
        midnight_utc = datetime(now.year, now.month, now.day, tzinfo=UTC) + timedelta(days=1)
        await advance_to(env, midnight_utc)  # 09:00 in Tokyo
        want = name_at("tokyo", midnight_utc)
        await env.until(lambda: active_names(env, "tokyo") == [want])
        job = await env.client.get("jobs", NS, want)
        stamp = job["metadata"]["annotations"]["batch.kubernetes.io/cronjob-scheduled-timestamp"]
        assert stamp == midnight_utc.strftime("%Y-%m-%dT09:00:00+09:00")
        assert status(env, "tokyo")["lastScheduleTime"] == midnight_utc.strftime(
            "%Y-%m-%dT%H:%M:%SZ")
    finally:
        await env.close()

