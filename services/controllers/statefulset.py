"""The StatefulSet controller (apps/v1): pods with stable names, storage and order.

Kubernetes' StatefulSet controller on jetkube's machinery.  Handlers only map a
StatefulSet, pod or ControllerRevision event to the set's key (and count observed
creations and deletions); ``reconcile(key)``:

1. claims the set's pods (its own, and orphans named ``<set>-<ordinal>`` that match the
   selector; owned pods that stop matching are released) and ControllerRevisions the
   same way (replicaset_pods.Claimer);
2. runs one sync (statefulset_control.py: revisions, create/repair replicas, scale down,
   rolling update) once the expectations say the cache has seen this controller's
   earlier creates and deletes;
3. writes ``status`` through the status subresource when it changed
   (``completeRollingUpdate`` promotes the update revision once every pod runs it and is
   ready) and deletes history beyond ``revisionHistoryLimit``;
4. with ``minReadySeconds``, requeues for the moment the next ready pod becomes available.

Pods and claims of a deleted set are left to the garbage collector (ownerReferences).
"""

from __future__ import annotations

import logging

from jetkube.schemas.objects import Obj, OwnerReferenceDict
from jetkube.services.machinery.apimachinery import controller_ref, new_controller_ref

from ..machinery.apimachinery import apierrors
from ..machinery.client import Controller, Informer, Requeue, UIDTrackingExpectations, WorkQueue
from ..machinery.runtime.telemetry import context_from_object
from ..machinery.service import ServiceRuntime
from .context import ControllerContext
from .replicaset_pods import (
    CONTROLLER_UID_INDEX,
    ORPHANS_INDEX,
    Claimer,
    controller_uid_index,
    deleting,
    meta,
    orphans_index,
    owned_and_orphans,
    owner_recheck,
    selects,
    spec,
    status,
    uid,
)
from .statefulset_claims import ClaimControl
from .statefulset_control import StatefulSetControl, Sync, complete_rolling_update
from .statefulset_pods import is_member_of

log = logging.getLogger(__name__)

NAME = "statefulset"
_STATUS_FIELDS = ("observedGeneration", "replicas", "readyReplicas", "availableReplicas",
                  "currentReplicas", "updatedReplicas", "currentRevision", "updateRevision",
                  "collisionCount")


class StatefulSetController:
    def __init__(self, rt: ServiceRuntime, workers: int = 5) -> None:
        self.rt, self.api, self.clock = rt, rt.api, rt.clock
        self.sets: Informer[Obj] = rt.informers.informer("statefulsets")
        self.pods: Informer[Obj] = rt.informers.informer("pods")
        self.revisions: Informer[Obj] = rt.informers.informer("controllerrevisions")
        for inf in (self.pods, self.revisions):
            inf.ensure_indexer(CONTROLLER_UID_INDEX, controller_uid_index)
            inf.ensure_indexer(ORPHANS_INDEX, orphans_index)
        self.expectations = UIDTrackingExpectations(rt.clock)
        self.control = StatefulSetControl(rt, self.expectations, ClaimControl(rt))
        self.queue: WorkQueue[str] = rt.work_queue(NAME)
        self.sets.add_event_handler(self._on_set, lambda _old, new: self._on_set(new),
                                    self._on_set_delete)
        self.pods.add_event_handler(self._on_pod_add, self._on_pod_update, self._on_pod_delete)
        self.revisions.add_event_handler(self._on_revision, lambda _o, new: self._on_revision(new),
                                         self._on_revision)
        self.controller = Controller(
            NAME, self.queue, self.reconcile, workers,
            trace_context=lambda key: context_from_object(self.sets.get(key)))

    # --- handlers: map events to keys ----------------------------------------------------

    def _on_set(self, sts: Obj) -> None:
        self.queue.add(self.sets.key_of(sts))

    def _on_set_delete(self, sts: Obj) -> None:
        key = self.sets.key_of(sts)
        self.expectations.delete(key)
        self.queue.add(key)

    def _owner_key(self, obj: Obj, ref: OwnerReferenceDict | None) -> str | None:
        if ref is None or ref.get("kind") != "StatefulSet":
            return None
        sts = self.sets.get_by_name(meta(obj).get("namespace"), str(ref.get("name") or ""))
        return self.sets.key_of(sts) if sts is not None and uid(sts) == ref.get("uid") else None

    def _enqueue_adopters(self, obj: Obj) -> None:
        """An orphan: wake the sets that may adopt it."""
        for sts in self.sets.list(str(meta(obj).get("namespace") or "")):
            if selects(spec(sts).get("selector"), obj):
                self.queue.add(self.sets.key_of(sts))

    def _on_pod_add(self, pod: Obj) -> None:
        ref = controller_ref(pod)
        if ref is None:
            self._enqueue_adopters(pod)
        elif key := self._owner_key(pod, ref):
            self.expectations.creation_observed(key)
            if deleting(pod):
                self.expectations.deletion_observed(key, uid(pod))
            self.queue.add(key)

    def _on_pod_update(self, old: Obj, new: Obj) -> None:
        if meta(old).get("resourceVersion") == meta(new).get("resourceVersion"):
            return  # a resync
        old_key = self._owner_key(old, controller_ref(old))
        key = self._owner_key(new, controller_ref(new))
        if key is not None and deleting(new):
            self.expectations.deletion_observed(key, uid(new))
        for k in {old_key, key} - {None}:
            self.queue.add(str(k))
        if controller_ref(new) is None and meta(old).get("labels") != meta(new).get("labels"):
            self._enqueue_adopters(new)

    def _on_pod_delete(self, pod: Obj) -> None:
        if key := self._owner_key(pod, controller_ref(pod)):
            self.expectations.deletion_observed(key, uid(pod))
            self.queue.add(key)

    def _on_revision(self, revision: Obj) -> None:
        ref = controller_ref(revision)
        if ref is None:
            self._enqueue_adopters(revision)
        elif key := self._owner_key(revision, ref):
            self.queue.add(key)

    # --- reconcile -----------------------------------------------------------------------

    async def _claim(self, sts: Obj, informer: Informer[Obj], resource: str,
                     member: bool) -> tuple[list[Obj], list[Exception]]:
        candidates = owned_and_orphans(informer, sts)
        if member:  # a pod must also be named after the set (Kubernetes' isMemberOf)
            candidates = [p for p in candidates if is_member_of(sts, p)]
        claimer = Claimer(self.api, resource, sts, new_controller_ref(sts, "apps/v1", "StatefulSet"),
                          spec(sts).get("selector"), owner_recheck(self.api, "statefulsets", sts))
        return await claimer.claim(candidates), claimer.errors

    async def reconcile(self, key: str) -> Requeue | None:
        sts = self.sets.get(key)
        if sts is None:
            self.expectations.delete(key)
            return None
        if not self.expectations.satisfied(key):
            return None  # pod events re-enqueue the set as the cache catches up
        pods, pod_errors = await self._claim(sts, self.pods, "pods", True)
        revisions, rev_errors = await self._claim(sts, self.revisions, "controllerrevisions",
                                                  False)
        current, update, collisions = await self.control.revisions(sts, revisions)
        s = Sync(key, sts, current, update, collisions, self.clock.now())
        try:
            await self.control.update_pods(s, pods)
        finally:  # the status of what was done, also when a write failed (as Kubernetes)
            await self._write_status(sts, complete_rolling_update(sts, self.control.status(s)))
        await self.control.truncate_history(sts, pods, revisions, current, update)
        if pod_errors or rev_errors:
            return Requeue(reason=str((pod_errors or rev_errors)[0]))
        wait = self.control.next_available(s)
        return Requeue(after=max(wait, 0.01)) if wait is not None else None

    async def _write_status(self, sts: Obj, new: Obj) -> None:
        old = status(sts)
        if all(old.get(k, 0 if k not in ("currentRevision", "updateRevision") else None)
               == new.get(k) for k in _STATUS_FIELDS):
            return
        md = meta(sts)
        try:
            await self.api.update_status("statefulsets", md.get("namespace"),
                                         str(md.get("name")), {**sts, "status": {**old, **new}})
        except apierrors.ApiError as err:
            if err.code in (404, 409):  # gone, or a newer set is on its way to the cache
                raise Requeue(reason=f"statefulset {md.get('name')}: {err.reason}") from None
            raise


def build(ctx: ControllerContext) -> Controller:
    return StatefulSetController(ctx.rt, ctx.options.workers(NAME)).controller
