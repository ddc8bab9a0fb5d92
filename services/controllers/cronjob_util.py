"""The cronjob controller's time arithmetic and Job making (Kubernetes' cronjob utils.go).

- :func:`most_recent_schedule_time`: from the later of ``creationTimestamp`` and
  ``status.lastScheduleTime`` (and, when asked, ``now - startingDeadlineSeconds``), the
  latest activation not after ``now`` and roughly how many were missed: Kubernetes counts
  them as ``(now - t1) / (t2 - t1) + 1`` from the first two activations instead of walking
  them all, then walks only the last stretch.  A schedule whose activations are less than a
  second apart, or that never fires (``0 0 30 2 *``), is an error.
- :func:`next_schedule_time_duration`: how long until the activation after the most recent
  one, plus 100 ms for clock skew: the delay the controller re-queues its key with.
- :func:`job_from_template`: the Job of one activation: named ``<cronjob>-<minutes since
  the epoch>`` (so a repeated attempt for the same time hits AlreadyExists instead of
  running twice), the template's labels and annotations plus
  ``batch.kubernetes.io/cronjob-scheduled-timestamp`` (RFC 3339 in the CronJob's zone), and
  the CronJob as controller.
"""

from __future__ import annotations

import copy
from datetime import datetime, timedelta

from jetkube.schemas import format_time, parse_time
from jetkube.schemas.cron import Schedule, load_location, parse_standard
from jetkube.schemas.objects import Obj, condition_is_true
from jetkube.services.machinery.apimachinery import new_controller_ref

SCHEDULED_TIMESTAMP = "batch.kubernetes.io/cronjob-scheduled-timestamp"
NEXT_SCHEDULE_DELTA = 0.1
"""Seconds added to each re-queue, so a clock a little behind still finds the time due."""
TOO_MANY_MISSED = 100


class InvalidSchedule(ValueError):
    """A schedule that parses but cannot be followed (activations under a second apart)."""


def schedule_of(cj: Obj) -> Schedule:
    """The CronJob's schedule in its ``spec.timeZone`` (UTC without one); raises
    ``CronError`` for an unknown zone or a schedule that does not parse."""
    spec = cj.get("spec") or {}
    return parse_standard(str(spec.get("schedule") or ""),
                          load_location(str(spec.get("timeZone") or "")))


def _created(cj: Obj) -> datetime:
    created = parse_time(cj["metadata"].get("creationTimestamp"))
    assert created is not None, "the API server sets creationTimestamp"
    return created


def most_recent_schedule_time(cj: Obj, now: datetime, sched: Schedule,
                              include_starting_deadline: bool
                              ) -> tuple[datetime, datetime | None, int]:
    """(earliest time considered, the most recent activation at or before ``now`` or None,
    the approximate number of activations missed since the earliest time)."""
    spec, status = cj.get("spec") or {}, cj.get("status") or {}
    earliest = parse_time(status.get("lastScheduleTime")) or _created(cj)
    deadline = spec.get("startingDeadlineSeconds")
    if include_starting_deadline and deadline is not None:
        scheduling_deadline = now - timedelta(seconds=int(deadline))
        earliest = max(earliest, scheduling_deadline)
    t1 = sched.next(earliest)
    t2 = sched.next(t1) if t1 is not None else None
    if t1 is None or t2 is None:
        raise InvalidSchedule("time difference between two schedules is less than 1 second")
    if now < t1:
        return earliest, None, 0
    if now < t2:
        return earliest, t1, 1
    between = round((t2 - t1).total_seconds())
    if between < 1:
        raise InvalidSchedule("time difference between two schedules is less than 1 second")
    missed = int((now - t1).total_seconds()) // between + 1
    # one interval before the estimate, so an irregular schedule ("30 6-16/4 * * 1-5") still
    # finds its real activations by walking them
    most_recent: datetime | None = None
    start = t1 + timedelta(seconds=(missed - 2) * between) if missed > 1 else earliest
    for begin in (start, earliest):  # the walk from ``earliest`` only when the estimate overshot
        t = sched.next(begin)
        while t is not None and t <= now:
            most_recent = t
            t = sched.next(t)
        if most_recent is not None:
            break
    return earliest, most_recent, missed


def next_schedule_time_duration(cj: Obj, now: datetime, sched: Schedule) -> float:
    """Seconds from ``now`` until the activation after the most recent one (+100 ms)."""
    try:
        earliest, most_recent, _ = most_recent_schedule_time(cj, now, sched, False)
        base = most_recent or earliest
    except InvalidSchedule:
        base = now  # aim for the next activation from now
    nxt = sched.next(base)
    if nxt is None:
        return 0.0
    return (nxt - now).total_seconds() + NEXT_SCHEDULE_DELTA


def job_name(cj: Obj, scheduled: datetime) -> str:
    """``<cronjob>-<scheduled time in minutes since the epoch>``."""
    return f"{cj['metadata']['name']}-{int(scheduled.timestamp()) // 60}"


def job_from_template(cj: Obj, scheduled: datetime) -> Obj:
    """The Job to create for the activation at ``scheduled``."""
    tpl = (cj.get("spec") or {}).get("jobTemplate") or {}
    tmd = tpl.get("metadata") or {}
    zone = load_location(str((cj.get("spec") or {}).get("timeZone") or ""))
    annotations = dict(tmd.get("annotations") or {})
    local = scheduled.astimezone(zone).replace(microsecond=0).isoformat()
    annotations[SCHEDULED_TIMESTAMP] = local.removesuffix("+00:00") + (
        "Z" if local.endswith("+00:00") else "")  # Go's RFC 3339: "Z" for a zero offset
    md = cj["metadata"]
    return {
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": job_name(cj, scheduled), "namespace": md["namespace"],
                     "labels": dict(tmd.get("labels") or {}), "annotations": annotations,
                     "creationTimestamp": format_time(scheduled),
                     "ownerReferences": [new_controller_ref(cj, "batch/v1", "CronJob")]},
        "spec": copy.deepcopy(tpl.get("spec") or {}),
    }


def finished_condition(job: Obj) -> str | None:
    """``Complete`` or ``Failed`` when the Job has finished, else None."""
    for ctype in ("Complete", "Failed"):
        if condition_is_true(job, ctype):
            return ctype
    return None


def by_job_start_time(job: Obj) -> tuple[bool, str, str]:
    """Sort key: started Jobs by startTime (oldest first), unstarted last, then by name."""
    start = (job.get("status") or {}).get("startTime")
    started = parse_time(start) if start else None
    return (started is None, format_time(started) if started else "", job["metadata"]["name"])
