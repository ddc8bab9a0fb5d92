"""CronJob controller (batch/v1): create a Job at each time of a cron schedule, as
Kubernetes' cronjob_controllerv2.

CronJob events enqueue the CronJob's key; Job events enqueue the key of the CronJob that
controls the Job.  ``reconcile`` (Kubernetes' ``sync``) is level-triggered and ends by
re-queueing the key for the next activation (``Requeue(after=…)``: the work queue's delayed
add, no polling loop).  Time comes from the runtime's clock.

- **Active list.** A controlled Job that finished leaves ``status.active`` (event
  ``SawCompletedJob``); an unfinished one missing from it is reported (``UnexpectedJob``:
  e.g. ``kubectl create job --from=cronjob/x``); an entry whose Job is gone (asked of the
  API server, not the cache) leaves it (``MissingJob``).  The latest completion of a
  successful Job is ``status.lastSuccessfulTime``.
- **When to run.** Nothing more while the CronJob is being deleted, its ``timeZone`` is
  unknown (``UnknownTimeZone``), it is suspended, or its schedule does not parse
  (``UnparseableSchedule``) or cannot be followed (``InvalidSchedule``).  Otherwise only the
  most recent activation since ``lastScheduleTime`` (or creation) runs, however many were
  missed while the control plane was down; more than 100 missed gives the warning
  ``TooManyMissedTimes``.  An activation older than ``startingDeadlineSeconds`` is skipped
  (``MissSchedule``); one already run (its Job name in the active list, or equal to
  ``lastScheduleTime``) is not run again.
- **concurrencyPolicy.** ``Forbid``: no new Job while one is active (``JobAlreadyActive``);
  ``Replace``: active Jobs are deleted first (background propagation); ``Allow``: both run.
- **Creating.** The Job of :func:`.cronjob_util.job_from_template`; AlreadyExists means
  this activation was created before (a crash between the create and the status write): a
  Job this CronJob controls is added to the active list, another's is left alone.  Then
  ``status.active`` gains it and ``lastScheduleTime`` is the activation.
- **History.** Finished Jobs beyond ``successfulJobsHistoryLimit`` and
  ``failedJobsHistoryLimit`` are deleted, oldest start first.
"""

from __future__ import annotations

import copy
import logging
from datetime import datetime

from jetkube.schemas import format_time, parse_time
from jetkube.schemas.cron import CronError, load_location
from jetkube.schemas.objects import Obj, condition_is_true
from jetkube.services.machinery.apimachinery import controller_ref

from ..machinery.apimachinery import apierrors, object_key
from ..machinery.client import NORMAL, WARNING, Controller, Requeue, WorkQueue, by_owner_uid
from ..machinery.runtime.telemetry import context_from_object
from .context import ControllerContext
from .cronjob_util import (
    TOO_MANY_MISSED,
    InvalidSchedule,
    by_job_start_time,
    finished_condition,
    job_from_template,
    job_name,
    most_recent_schedule_time,
    next_schedule_time_duration,
    schedule_of,
)
from .job import OWNER_INDEX

log = logging.getLogger(__name__)


def _in_active_list(cj: Obj, uid: str) -> bool:
    return any(r.get("uid") == uid for r in (cj.get("status") or {}).get("active") or [])


def _delete_from_active_list(cj: Obj, uid: str) -> None:
    status = cj.setdefault("status", {})
    status["active"] = [r for r in status.get("active") or [] if r.get("uid") != uid]


def _job_ref(job: Obj) -> Obj:
    md = job["metadata"]
    return {"apiVersion": "batch/v1", "kind": "Job", "namespace": md["namespace"],
            "name": md["name"], "uid": md["uid"], "resourceVersion": md.get("resourceVersion")}


class CronJobController:
    def __init__(self, ctx: ControllerContext) -> None:
        rt = ctx.rt
        self.api, self.events, self.clock = rt.api, rt.events, rt.clock
        self.cronjobs = rt.informers.informer("cronjobs")
        self.jobs = rt.informers.informer("jobs")
        self.jobs.ensure_indexer(OWNER_INDEX, by_owner_uid(controller_only=True))
        self.queue: WorkQueue[str] = rt.work_queue("cronjob")
        self.cronjobs.add_event_handler(on_add=self._cronjob_added,
                                        on_update=self._cronjob_updated,
                                        on_delete=self._cronjob_added)
        self.jobs.add_event_handler(on_add=self._job_changed,
                                    on_update=self._job_updated,
                                    on_delete=self._job_changed)
        self.controller = Controller(
            "cronjob", self.queue, self.reconcile, ctx.options.workers("cronjob"),
            trace_context=lambda key: context_from_object(self.cronjobs.get(key)))

    # --- handlers ---------------------------------------------------------------------

    def _cronjob_added(self, cj: Obj) -> None:
        self.queue.add(self.cronjobs.key_of(cj))

    def _cronjob_updated(self, old: Obj, new: Obj) -> None:
        """A new schedule or zone counts from the next activation (Kubernetes' updateCronJob):
        re-queued for then, so an activation the old schedule did not have does not run now."""
        key = self.cronjobs.key_of(new)
        o, n = old.get("spec") or {}, new.get("spec") or {}
        if (o.get("schedule"), o.get("timeZone")) != (n.get("schedule"), n.get("timeZone")):
            try:
                delay = next_schedule_time_duration(new, self.clock.now(), schedule_of(new))
            except CronError:
                delay = 0.0  # reconcile reports it
            self.queue.add_after(key, delay)
            return
        self.queue.add(key)

    def _owner_key(self, job: Obj) -> str | None:
        ref = controller_ref(job, "CronJob")
        return (object_key("cronjobs", job["metadata"].get("namespace"), ref["name"])
                if ref else None)

    def _job_changed(self, job: Obj) -> None:
        key = self._owner_key(job)
        if key:
            self.queue.add(key)

    def _job_updated(self, old: Obj, new: Obj) -> None:
        for key in {self._owner_key(old), self._owner_key(new)} - {None}:
            assert key is not None
            self.queue.add(key)

    # --- reconcile --------------------------------------------------------------------

    async def reconcile(self, key: str) -> Requeue | None:
        cached = self.cronjobs.get(key)
        if cached is None:
            return None
        ns, uid = cached["metadata"]["namespace"], cached["metadata"]["uid"]
        jobs = [j for j in self.jobs.by_index(OWNER_INDEX, uid)
                if j["metadata"].get("namespace") == ns]
        cj = copy.deepcopy(cached)
        requeue_after, update = await self._sync(cj, jobs)
        if await self._cleanup_finished_jobs(cj, jobs):
            update = True
        if update:
            await self._write_status(cj)
        return Requeue(after=requeue_after) if requeue_after is not None else None

    async def _sync(self, cj: Obj, jobs: list[Obj]) -> tuple[float | None, bool]:
        """Kubernetes' ``syncCronJob``: (seconds until the key is due again, status changed)."""
        now = self.clock.now()
        update = await self._sync_active(cj, jobs)
        md, spec = cj["metadata"], cj.get("spec") or {}
        if md.get("deletionTimestamp"):
            return None, update
        tz = spec.get("timeZone")
        if tz is not None:
            try:
                load_location(str(tz))
            except CronError as err:
                self.events.record(cj, WARNING, "UnknownTimeZone",
                                   f"invalid timeZone: {tz!r}: {err}")
                return None, update
        if spec.get("suspend"):
            return None, update
        try:
            sched = schedule_of(cj)
        except CronError as err:
            self.events.record(cj, WARNING, "UnparseableSchedule",
                               f"unparseable schedule: {spec.get('schedule')!r} : {err}")
            return None, update
        try:
            _, scheduled, missed = most_recent_schedule_time(cj, now, sched, True)
        except InvalidSchedule as err:
            self.events.record(cj, WARNING, "InvalidSchedule",
                               f"invalid schedule: {spec.get('schedule')} : {err}")
            return None, update

        def requeue() -> tuple[float, bool]:
            return next_schedule_time_duration(cj, now, sched), update

        if scheduled is None:
            return requeue()  # no activation due since the last one
        if missed > TOO_MANY_MISSED:
            self.events.record(cj, WARNING, "TooManyMissedTimes",
                               f"too many missed start times: {missed}. Set or decrease "
                               ".spec.startingDeadlineSeconds or check clock skew")
        deadline = spec.get("startingDeadlineSeconds")
        if deadline is not None and (now - scheduled).total_seconds() > int(deadline):
            self.events.record(cj, WARNING, "MissSchedule",
                               "Missed scheduled time to start a job: "
                               + scheduled.strftime("%a, %d %b %Y %H:%M:%S +0000"))
            return requeue()
        status = cj.setdefault("status", {})
        name = job_name(cj, scheduled)
        if (any(r.get("name") == name for r in status.get("active") or [])
                or parse_time(status.get("lastScheduleTime")) == scheduled):
            return requeue()  # this activation has run
        policy = spec.get("concurrencyPolicy") or "Allow"
        if policy == "Forbid" and status.get("active"):
            self.events.record(cj, NORMAL, "JobAlreadyActive",
                               "Not starting job because prior execution is running and "
                               "concurrency policy is Forbid")
            return requeue()
        if policy == "Replace":
            for ref in list(status.get("active") or []):
                try:
                    job = await self.api.get("jobs", ref.get("namespace"), ref["name"])
                except apierrors.ApiError as err:
                    self.events.record(cj, WARNING, "FailedGet", f"Get job: {err}")
                    raise
                if not await self._delete_job(cj, job):
                    raise RuntimeError(f"could not replace job {ref.get('namespace')}/"
                                       f"{ref['name']}")
                update = True
        created = await self._create_job(cj, scheduled)
        if created is None:
            return None, update
        status.setdefault("active", []).append(_job_ref(created))
        status["lastScheduleTime"] = format_time(scheduled)
        return next_schedule_time_duration(cj, now, sched), True

    async def _sync_active(self, cj: Obj, jobs: list[Obj]) -> bool:
        """Reconcile ``status.active`` and ``lastSuccessfulTime`` with the Jobs that exist."""
        update = False
        children = set()
        for j in jobs:
            uid = j["metadata"]["uid"]
            children.add(uid)
            found = _in_active_list(cj, uid)
            finished = finished_condition(j)
            if not found and finished is None:
                fresh = await self.api.get("cronjobs", cj["metadata"]["namespace"],
                                           cj["metadata"]["name"])
                if _in_active_list(fresh, uid):
                    cj.clear()
                    cj.update(fresh)  # our cache was behind our own status write
                    continue
                self.events.record(cj, WARNING, "UnexpectedJob",
                                   "Saw a job that the controller did not create or forgot: "
                                   + j["metadata"]["name"])
            elif found and finished is not None:
                _delete_from_active_list(cj, uid)
                self.events.record(cj, NORMAL, "SawCompletedJob",
                                   f"Saw completed job: {j['metadata']['name']}, "
                                   f"condition: {finished}")
                update = True
            if condition_is_true(j, "Complete"):
                done = parse_time((j.get("status") or {}).get("completionTime"))
                status = cj.setdefault("status", {})
                last = parse_time(status.get("lastSuccessfulTime"))
                if done is not None and (last is None or done > last):
                    status["lastSuccessfulTime"] = format_time(done)
                    update = True
        for ref in list((cj.get("status") or {}).get("active") or []):
            if ref.get("uid") in children:
                continue
            try:  # the cache may be behind: ask the API server before dropping it
                await self.api.get("jobs", ref.get("namespace"), ref["name"])
            except apierrors.ApiError as err:
                if err.code != 404:
                    raise
                self.events.record(cj, NORMAL, "MissingJob",
                                   f"Active job went missing: {ref['name']}")
                _delete_from_active_list(cj, str(ref.get("uid")))
                update = True
        return update

    async def _create_job(self, cj: Obj, scheduled: datetime) -> Obj | None:
        """Create the activation's Job; the Job to list as active, or None when there is
        nothing to add (another owner's Job of that name, or already listed)."""
        body = job_from_template(cj, scheduled)
        ns, name = cj["metadata"]["namespace"], body["metadata"]["name"]
        try:
            created = await self.api.create("jobs", ns, body)
        except apierrors.ApiError as err:
            if err.code != 409 or err.reason != "AlreadyExists":
                self.events.record(cj, WARNING, "FailedCreate", f"Error creating job: {err}")
                raise
            job = await self.api.get("jobs", ns, name)
            ref = controller_ref(job, "CronJob")
            if ref is None or ref.get("uid") != cj["metadata"]["uid"]:
                return None  # someone else's Job: assume it updates the status it needs
            if _in_active_list(cj, job["metadata"]["uid"]):
                return None
            log.info("cronjob %s/%s: job %s already exists", ns, cj["metadata"]["name"], name)
            return job
        self.events.record(cj, NORMAL, "SuccessfulCreate", f"Created job {name}")
        return created

    async def _delete_job(self, cj: Obj, job: Obj) -> bool:
        """Kubernetes' ``deleteJob``: the Job (its pods by background propagation) and its
        entry in the active list."""
        md = job["metadata"]
        try:
            await self.api.delete("jobs", md["namespace"], md["name"],
                                  propagation_policy="Background")
        except apierrors.ApiError as err:
            if err.code != 404:
                self.events.record(cj, WARNING, "FailedDelete", f"Deleted job: {err}")
                return False
        _delete_from_active_list(cj, md["uid"])
        self.events.record(cj, NORMAL, "SuccessfulDelete", f"Deleted job {md['name']}")
        return True

    async def _cleanup_finished_jobs(self, cj: Obj, jobs: list[Obj]) -> bool:
        """Delete the oldest finished Jobs beyond the two history limits."""
        spec = cj.get("spec") or {}
        update = False
        for ctype, field in (("Complete", "successfulJobsHistoryLimit"),
                             ("Failed", "failedJobsHistoryLimit")):
            limit = spec.get(field)
            if limit is None:
                continue
            done = sorted((j for j in jobs if finished_condition(j) == ctype
                           and not j["metadata"].get("deletionTimestamp")),
                          key=by_job_start_time)
            for job in done[:max(0, len(done) - int(limit))]:
                if await self._delete_job(cj, job):
                    update = True
        return update

    async def _write_status(self, cj: Obj) -> None:
        md = cj["metadata"]
        try:
            await self.api.update_status("cronjobs", md["namespace"], md["name"], cj)
        except apierrors.ApiError as err:
            if err.code in (404, 409):
                raise Requeue(reason=f"cronjob {md['name']}: {err.reason}") from None
            raise


def build(ctx: ControllerContext) -> Controller:
    return CronJobController(ctx).controller
