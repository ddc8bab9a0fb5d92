"""Job controller (batch/v1): run pods until enough succeed, or fail the Job.

Kubernetes' Job controller, client-go style: Job and pod events enqueue the Job's key;
``reconcile`` recomputes from the caches; expectations keep a stale cache from creating
(or deleting) twice; timers are ``Requeue(after=…)``.

- **Selector.** The API server generates it (lifecycle.py); a Job stored without one and
  without ``manualSelector`` gets the same here: ``batch.kubernetes.io/controller-uid=<uid>``
  (and legacy ``controller-uid``), its template the ``…/controller-uid`` and ``…/job-name``
  labels (one update; if refused, the selector is held in memory).
- **Pods.** Owned pods (controller ownerReference) that match the selector count.
  NonIndexed: ``min(parallelism, completions - succeeded)`` active (with no
  ``completions``: ``parallelism`` until one succeeds).  Indexed: one pod per index
  not yet succeeded, lowest first, at most ``parallelism``; pods carry
  ``batch.kubernetes.io/job-completion-index`` (annotation, label, ``JOB_COMPLETION_INDEX``
  env) and hostname ``<job>-<index>``.  Failed pods are replaced after a back-off of
  10 s * 2^(failures-1), at most 10 min.
- **Finish.** A failed pod matching a ``podFailurePolicy`` FailJob rule → FailureTarget +
  Failed (``PodFailurePolicy``); pods an Ignore rule matches do not count (job_failure.py);
  ``failed > backoffLimit`` → FailureTarget + Failed (``BackoffLimitExceeded``);
  ``activeDeadlineSeconds`` after ``startTime`` → the same with ``DeadlineExceeded``;
  either way active pods are deleted (and counted as failed).  Enough successes →
  SuccessCriteriaMet + Complete and ``completionTime``; leftover active pods deleted.
- **Suspend.** Active pods are deleted, condition Suspended=True; on resume
  Suspended=False and ``startTime`` restarts.
- **podReplacementPolicy** ``Failed`` (the default with a podFailurePolicy): a terminating
  pod is replaced only once it has failed.

Counting is from the pods that exist (Kubernetes' pre-finalizer tracking): a finished
pod deleted by someone else is no longer counted.  ``ttlSecondsAfterFinished`` is the
ttlafterfinished controller's.  Not modelled: successPolicy, backoffLimitPerIndex (so no
FailIndex), adoption of orphans.
"""

from __future__ import annotations

import asyncio
import copy
import logging
from datetime import timedelta

from jetkube.schemas import format_time, parse_time
from jetkube.schemas.objects import Obj, condition_is_true
from jetkube.services.machinery.apimachinery import controller_ref, new_controller_ref

from ..machinery.apimachinery import Selector, apierrors, object_key, selector_from_label_selector
from ..machinery.client import (
    NORMAL,
    WARNING,
    Controller,
    Requeue,
    UIDTrackingExpectations,
    WorkQueue,
    by_owner_uid,
)
from ..machinery.runtime.telemetry import context_from_object
from .context import ControllerContext
from .job_failure import count_failed
from .replicaset_pods import is_ready

log = logging.getLogger(__name__)

OWNER_INDEX = "workloads/controller-uid"  # same index (and function) as the ReplicaSet controller
CONTROLLER_UID = "batch.kubernetes.io/controller-uid"
JOB_NAME = "batch.kubernetes.io/job-name"
LEGACY_CONTROLLER_UID = "controller-uid"
LEGACY_JOB_NAME = "job-name"
COMPLETION_INDEX = "batch.kubernetes.io/job-completion-index"


def phase(pod: Obj) -> str:
    return str((pod.get("status") or {}).get("phase") or "Pending")


def set_condition(conds: list[Obj], ctype: str, status: str, reason: str, message: str,
                  now: str) -> None:
    for c in conds:
        if c.get("type") == ctype:
            if c.get("status") != status:
                c.update(status=status, lastTransitionTime=now)
            c.update(reason=reason, message=message, lastProbeTime=now)
            return
    conds.append({"type": ctype, "status": status, "reason": reason, "message": message,
                  "lastProbeTime": now, "lastTransitionTime": now})


def format_indexes(indexes: set[int]) -> str:
    """``{0,1,2,5}`` → ``"0-2,5"`` (status.completedIndexes)."""
    runs: list[list[int]] = []
    for i in sorted(indexes):
        if runs and i == runs[-1][-1] + 1:
            runs[-1].append(i)
        else:
            runs.append([i])
    return ",".join(f"{r[0]}-{r[-1]}" if len(r) > 1 else str(r[0]) for r in runs)


def completion_index(pod: Obj) -> int | None:
    raw = (pod["metadata"].get("annotations") or {}).get(COMPLETION_INDEX)
    try:
        return int(raw) if raw is not None else None
    except ValueError:
        return None


class JobController:
    def __init__(self, ctx: ControllerContext) -> None:
        rt = ctx.rt
        self.api, self.events, self.clock = rt.api, rt.events, rt.clock
        self.jobs = rt.informers.informer("jobs")
        self.pods = rt.informers.informer("pods")
        self.pods.ensure_indexer(OWNER_INDEX, by_owner_uid(controller_only=True))
        self.queue: WorkQueue[str] = rt.work_queue("job")
        self.expectations = UIDTrackingExpectations(rt.clock)
        self._selectors: dict[str, Obj] = {}  # uid -> generated selector the server refused
        self._failures: dict[str, tuple[int, float]] = {}  # key -> (failed seen, when)
        self.pod_failure_backoff = rt.settings.job_pod_failure_backoff
        self.jobs.add_event_handler(on_add=self._job_changed,
                                    on_update=lambda _o, n: self._job_changed(n),
                                    on_delete=self._job_deleted)
        self.pods.add_event_handler(on_add=self._pod_added, on_update=self._pod_updated,
                                    on_delete=self._pod_deleted)
        self.controller = Controller(
            "job", self.queue, self.reconcile, ctx.options.workers("job"),
            trace_context=lambda key: context_from_object(self.jobs.get(key)))

    # --- handlers ---------------------------------------------------------------------

    def _job_changed(self, job: Obj) -> None:
        self.queue.add(self.jobs.key_of(job))

    def _job_deleted(self, job: Obj) -> None:
        key = self.jobs.key_of(job)
        self.expectations.delete(key)
        self._failures.pop(key, None)
        self._selectors.pop(str(job["metadata"].get("uid")), None)

    def _owner_key(self, pod: Obj) -> str | None:
        ref = controller_ref(pod, "Job")
        return object_key("jobs", pod["metadata"].get("namespace"), ref["name"]) if ref else None

    def _pod_added(self, pod: Obj) -> None:
        key = self._owner_key(pod)
        if key:
            self.expectations.creation_observed(key)
            self.queue.add(key)

    def _pod_updated(self, old: Obj, new: Obj) -> None:
        key = self._owner_key(new)
        if key:
            if new["metadata"].get("deletionTimestamp") and not old["metadata"].get(
                    "deletionTimestamp"):
                self.expectations.deletion_observed(key, new["metadata"].get("uid"))
            self.queue.add(key)

    def _pod_deleted(self, pod: Obj) -> None:
        key = self._owner_key(pod)
        if key:
            self.expectations.deletion_observed(key, pod["metadata"].get("uid"))
            self.queue.add(key)

    # --- reconcile --------------------------------------------------------------------

    async def reconcile(self, key: str) -> Requeue | None:
        job = self.jobs.get(key)
        if job is None or job["metadata"].get("deletionTimestamp"):
            return None
        if condition_is_true(job, "Complete") or condition_is_true(job, "Failed"):
            return None
        selector = await self._selector(job)
        if not self.expectations.satisfied(key):
            return None  # pod events re-enqueue the Job as the cache catches up
        uid = job["metadata"]["uid"]
        pods = [p for p in self.pods.by_index(OWNER_INDEX, uid)
                if p["metadata"].get("namespace") == job["metadata"].get("namespace")
                and selector.matches_object(p)]
        return await self._sync(key, job, pods)

    async def _selector(self, job: Obj) -> Selector:
        spec, md = job["spec"], job["metadata"]
        if spec.get("selector") is not None or spec.get("manualSelector"):
            return selector_from_label_selector(spec.get("selector"))
        uid = md["uid"]
        generated = {"matchLabels": {CONTROLLER_UID: uid, LEGACY_CONTROLLER_UID: uid}}
        if uid not in self._selectors:
            new = copy.deepcopy(job)
            new["spec"]["selector"] = generated
            tmd = new["spec"]["template"].setdefault("metadata", {})
            tmd["labels"] = {**self._generated_labels(job), **(tmd.get("labels") or {})}
            try:
                await self.api.update("jobs", md["namespace"], md["name"], new)
                raise Requeue(reason="selector generated")  # continue from the update event
            except apierrors.ApiError as err:
                if err.code != 422:
                    raise
                log.info("job %s/%s: selector not stored (%s); using it in memory",
                         md["namespace"], md["name"], err.message)
                self._selectors[uid] = generated
        return selector_from_label_selector(self._selectors[uid])

    @staticmethod
    def _generated_labels(job: Obj) -> dict[str, str]:
        md = job["metadata"]
        return {CONTROLLER_UID: md["uid"], JOB_NAME: md["name"],
                LEGACY_CONTROLLER_UID: md["uid"], LEGACY_JOB_NAME: md["name"]}

    async def _sync(self, key: str, job: Obj, pods: list[Obj]) -> Requeue | None:
        spec = job["spec"]
        status: Obj = copy.deepcopy(job.get("status") or {})
        conds: list[Obj] = status.setdefault("conditions", [])
        now_dt = self.clock.now()
        now = format_time(now_dt)
        active = [p for p in pods if phase(p) not in ("Succeeded", "Failed")
                  and not p["metadata"].get("deletionTimestamp")]
        terminating = sum(1 for p in pods if phase(p) not in ("Succeeded", "Failed")
                          and p["metadata"].get("deletionTimestamp"))
        failed, fail_job = count_failed(spec.get("podFailurePolicy"),
                                        [p for p in pods if phase(p) == "Failed"])
        indexed = spec.get("completionMode") == "Indexed"
        completions = spec.get("completions")
        done_indexes = {i for p in pods if phase(p) == "Succeeded"
                        and (i := completion_index(p)) is not None and i < (completions or 0)}
        succeeded = len(done_indexes) if indexed else sum(1 for p in pods
                                                         if phase(p) == "Succeeded")
        suspended = bool(spec.get("suspend"))
        was_suspended = condition_is_true(job, "Suspended")
        if not suspended and (not status.get("startTime") or was_suspended):
            status["startTime"] = now
        start = parse_time(status.get("startTime"))
        after: list[float] = []
        deadline = spec.get("activeDeadlineSeconds")
        failure: tuple[str, str] | None = None
        if fail_job is not None:
            failure = ("PodFailurePolicy", fail_job)
        elif failed > int(spec.get("backoffLimit", 6)):
            failure = ("BackoffLimitExceeded", "Job has reached the specified backoff limit")
        elif deadline is not None and start is not None and not suspended:
            left = (start + timedelta(seconds=int(deadline)) - now_dt).total_seconds()
            if left <= 0:
                failure = ("DeadlineExceeded", "Job was active longer than specified deadline")
            else:
                after.append(left)
        if indexed:
            complete = completions is not None and succeeded >= int(completions)
        elif completions is not None:
            complete = succeeded >= int(completions)
        else:
            complete = succeeded > 0 and not active
        if failure is not None:
            await self._delete(key, active)
            failed += len(active)
            active = []
            set_condition(conds, "FailureTarget", "True", failure[0], failure[1], now)
            set_condition(conds, "Failed", "True", failure[0], failure[1], now)
            self.events.record(job, WARNING, failure[0], failure[1])
        elif complete:
            await self._delete(key, active)
            active = []
            set_condition(conds, "SuccessCriteriaMet", "True", "CompletionsReached",
                          "Reached expected number of succeeded pods", now)
            set_condition(conds, "Complete", "True", "CompletionsReached",
                          "Reached expected number of succeeded pods", now)
            status["completionTime"] = now
            self.events.record(job, NORMAL, "Completed", "Job completed")
        elif suspended:
            await self._delete(key, active)
            active = []
            if not was_suspended:
                set_condition(conds, "Suspended", "True", "JobSuspended", "Job suspended", now)
                self.events.record(job, NORMAL, "Suspended", "Job suspended")
        else:
            if was_suspended:
                set_condition(conds, "Suspended", "False", "JobResumed", "Job resumed", now)
                self.events.record(job, NORMAL, "Resumed", "Job resumed")
            wait = self._backoff_left(key, failed)
            if wait > 0:
                after.append(wait)
            replacing = [p for p in pods if phase(p) not in ("Succeeded", "Failed")
                         and p["metadata"].get("deletionTimestamp")
                         and spec.get("podReplacementPolicy") == "Failed"]
            active = await self._manage(key, job, active, replacing, done_indexes, succeeded,
                                        wait > 0)
        status.update(active=len(active), ready=sum(1 for p in active if is_ready(p)),
                      succeeded=succeeded, failed=failed, terminating=terminating)
        if indexed:
            status["completedIndexes"] = format_indexes(done_indexes)
        if not conds:
            status.pop("conditions")
        await self._write_status(job, status)
        return Requeue(after=min(after)) if after else None

    def _backoff_left(self, key: str, failed: int) -> float:
        """Seconds until failed pods may be replaced (``job_pod_failure_backoff``: by default
        10 s * 2^(n-1) after the n-th failure, at most 10 min)."""
        if failed <= 0:
            self._failures.pop(key, None)
            return 0.0
        now = self.clock.monotonic()
        seen = self._failures.get(key)
        if seen is None or seen[0] != failed:
            seen = self._failures[key] = (failed, now)
        delay = self.pod_failure_backoff.delay(failed - 1)
        return max(0.0, seen[1] + delay - now)

    async def _manage(self, key: str, job: Obj, active: list[Obj], replacing: list[Obj],
                      done: set[int], succeeded: int, backing_off: bool) -> list[Obj]:
        """Create or delete pods toward the wanted active count; returns the active pods.
        ``replacing``: terminating pods not to be replaced before they fail."""
        spec = job["spec"]
        parallelism = int(spec.get("parallelism", 1))
        completions = spec.get("completions")
        create: list[int | None]
        if spec.get("completionMode") == "Indexed":
            running = {completion_index(p) for p in (*active, *replacing)}
            todo = [i for i in range(int(completions or 0)) if i not in done and i not in running]
            extra = [p for p in active if completion_index(p) in done]
            busy = len(active) - len(extra) + len(replacing)
            create = list(todo[:max(0, parallelism - busy)])
        else:
            if completions is None:  # after a success, whatever runs is left to finish
                want = min(parallelism, len(active)) if succeeded > 0 else parallelism
            else:
                want = max(0, min(parallelism, int(completions) - succeeded))
            surplus = len(active) - want
            order = sorted(active, key=lambda p: (is_ready(p),
                                                  p["metadata"].get("creationTimestamp", "")))
            extra = order[:surplus] if surplus > 0 else []
            create = [None] * max(0, want - len(active) - len(replacing))
        if extra:
            await self._delete(key, extra)
            active = [p for p in active if p not in extra]
        if create and not backing_off:
            self.expectations.raise_expectations(key, len(create), 0)
            results = await asyncio.gather(*(self._create(job, i) for i in create),
                                           return_exceptions=True)
            errors = [r for r in results if isinstance(r, BaseException)]
            for _ in errors:
                self.expectations.creation_observed(key)
            if errors:
                raise errors[0]
        return active

    async def _create(self, job: Obj, index: int | None) -> None:
        md, tpl = job["metadata"], job["spec"]["template"]
        tmd = tpl.get("metadata") or {}
        labels = {**self._generated_labels(job), **(tmd.get("labels") or {})}
        annotations = dict(tmd.get("annotations") or {})
        pod_spec = copy.deepcopy(tpl.get("spec") or {})
        name = md["name"]
        if index is not None:
            annotations[COMPLETION_INDEX] = str(index)
            labels[COMPLETION_INDEX] = str(index)
            pod_spec.setdefault("hostname", f"{name}-{index}")
            env = {"name": "JOB_COMPLETION_INDEX", "valueFrom": {"fieldRef": {
                "fieldPath": f"metadata.annotations['{COMPLETION_INDEX}']"}}}
            for c in pod_spec.get("containers") or []:
                c["env"] = [env, *(c.get("env") or [])]
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {
            "generateName": f"{name}-" if index is None else f"{name}-{index}-",
            "namespace": md["namespace"], "labels": labels, "annotations": annotations,
            "ownerReferences": [new_controller_ref(job, "batch/v1", "Job")]},
            "spec": pod_spec}
        await self.api.create("pods", md["namespace"], pod)

    async def _delete(self, key: str, pods: list[Obj]) -> None:
        if not pods:
            return
        self.expectations.expect_deletions_of(key, [p["metadata"]["uid"] for p in pods])

        async def one(p: Obj) -> None:
            try:
                await self.api.delete("pods", p["metadata"]["namespace"], p["metadata"]["name"])
            except apierrors.ApiError as err:
                self.expectations.deletion_observed(key, p["metadata"]["uid"])
                if err.code != 404:
                    raise

        results = await asyncio.gather(*(one(p) for p in pods), return_exceptions=True)
        errors = [r for r in results if isinstance(r, BaseException)]
        if errors:
            raise errors[0]

    async def _write_status(self, job: Obj, status: Obj) -> None:
        if status == (job.get("status") or {}):
            return
        new = dict(job)
        new["status"] = status
        md = job["metadata"]
        try:
            await self.api.update_status("jobs", md["namespace"], md["name"], new)
        except apierrors.ApiError as err:
            if err.code in (404, 409):
                raise Requeue(reason=f"job {md['name']}: {err.reason}") from None
            raise


def build(ctx: ControllerContext) -> Controller:
    return JobController(ctx).controller
