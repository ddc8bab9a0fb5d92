"""TTL-after-finished controller: delete a finished Job ``ttlSecondsAfterFinished`` after it
finished, as Kubernetes' ttlafterfinished controller.

Job events enqueue the Job's key when it has a TTL and has finished (a ``Complete`` or
``Failed`` condition that is true) and is not being deleted.  ``reconcile`` measures the
time left from that condition's ``lastTransitionTime``: with time left, the key comes back
then (``Requeue(after=…)``); once expired, the Job is read again from the API server (the
cache may hold an older TTL) and, if still expired, deleted with foreground propagation
and a UID precondition, so its pods go before it and a new Job of the same name is never
hit.  A finish time in the future (clock skew) waits until it has passed.
"""

from __future__ import annotations

import logging
from datetime import datetime

from jetkube.schemas import parse_time
from jetkube.schemas.objects import Obj, get_condition

from ..machinery.apimachinery import apierrors
from ..machinery.client import Controller, Requeue, WorkQueue
from ..machinery.runtime.telemetry import context_from_object
from .context import ControllerContext
from .cronjob_util import finished_condition

log = logging.getLogger(__name__)


def needs_cleanup(job: Obj) -> bool:
    return ((job.get("spec") or {}).get("ttlSecondsAfterFinished") is not None
            and finished_condition(job) is not None)


def finish_time(job: Obj) -> datetime | None:
    """When the Job finished: its Complete/Failed condition's lastTransitionTime."""
    ctype = finished_condition(job)
    cond = get_condition(job, ctype) if ctype else None
    return parse_time(cond.get("lastTransitionTime")) if cond else None


class TTLAfterFinishedController:
    def __init__(self, ctx: ControllerContext) -> None:
        rt = ctx.rt
        self.api, self.clock = rt.api, rt.clock
        self.jobs = rt.informers.informer("jobs")
        self.queue: WorkQueue[str] = rt.work_queue("ttlafterfinished")
        self.jobs.add_event_handler(on_add=self._job_changed,
                                    on_update=lambda _o, n: self._job_changed(n))
        self.controller = Controller(
            "ttlafterfinished", self.queue, self.reconcile,
            ctx.options.workers("ttlafterfinished"),
            trace_context=lambda key: context_from_object(self.jobs.get(key)))

    def _job_changed(self, job: Obj) -> None:
        if not job["metadata"].get("deletionTimestamp") and needs_cleanup(job):
            self.queue.add(self.jobs.key_of(job))

    def _time_left(self, job: Obj) -> float | None:
        """Seconds until the Job's TTL expires (<= 0: expired), None when it has none."""
        if job["metadata"].get("deletionTimestamp") or not needs_cleanup(job):
            return None
        finished = finish_time(job)
        if finished is None:
            raise ValueError(f"job {job['metadata']['name']} has no finish time")
        now = self.clock.now()
        if finished > now:
            log.info("job %s/%s finished in the future (clock skew): cleanup deferred",
                     job["metadata"].get("namespace"), job["metadata"]["name"])
        ttl = int(job["spec"]["ttlSecondsAfterFinished"])
        return (finished - now).total_seconds() + ttl

    async def reconcile(self, key: str) -> Requeue | None:
        job = self.jobs.get(key)
        if job is None:
            return None
        left = self._time_left(job)
        if left is None:
            return None
        if left > 0:
            return Requeue(after=left)
        md = job["metadata"]
        try:  # the TTL may have changed since the cache saw it
            fresh = await self.api.get("jobs", md["namespace"], md["name"])
        except apierrors.ApiError as err:
            if err.code == 404:
                return None
            raise
        left = self._time_left(fresh)
        if left is None:
            return None
        if left > 0:
            return Requeue(after=left)
        try:
            await self.api.request("delete", "jobs", md["namespace"], md["name"], {
                "propagationPolicy": "Foreground",
                "preconditions": {"uid": fresh["metadata"]["uid"]}})
        except apierrors.ApiError as err:
            if err.code not in (404, 409):  # gone, or a new Job of that name
                raise
        log.info("job %s/%s deleted %ds after it finished", md["namespace"], md["name"],
                 int(fresh["spec"]["ttlSecondsAfterFinished"]))
        return None


def build(ctx: ControllerContext) -> Controller:
    return TTLAfterFinishedController(ctx).controller
