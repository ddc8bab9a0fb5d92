"""The ReplicaSet controller: keep ``spec.replicas`` pods matching each ReplicaSet's selector.

Kubernetes' ReplicaSet controller on jetkube's machinery.  Informer handlers
only map a pod or ReplicaSet event to the owning ReplicaSet's key (and count
observed creations and deletions); ``reconcile(key)`` recomputes from the
caches:

1. claim pods: active pods the ReplicaSet controls that still match, plus
   matching orphans it adopts (ownerReferences patch); controlled pods that
   stopped matching are released;
2. if the expectations are satisfied (the cache has seen every create and
   delete this controller issued), create the missing pods in slow-start
   batches (1, 2, 4, …; a failing batch stops the rest) or delete the surplus
   in Kubernetes' order (unscheduled, not ready, … newest first), at most
   ``burst_replicas`` per pass;
3. write ``status`` (replicas, fullyLabeledReplicas, readyReplicas,
   availableReplicas, observedGeneration, a ReplicaFailure condition) through
   the status subresource, only when it changed;
4. with ``minReadySeconds``, requeue for the moment the next ready pod becomes
   available instead of polling.

The same code runs ReplicationControllers, as in Kubernetes (whose replication manager
is the ReplicaSet controller over converted objects): a :class:`ManagedKind` names the
resource, the kind its pods' owner references carry, and how to read the object's
selector as a ``LabelSelector`` (replicationcontroller.py converts a plain map).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from jetkube.schemas import format_time, set_matches
from jetkube.schemas.objects import Obj, OwnerReferenceDict, get_condition
from jetkube.services.machinery.apimachinery import controller_ref, new_controller_ref, object_key

from ..machinery.apimachinery import apierrors
from ..machinery.client import (
    NORMAL,
    WARNING,
    Controller,
    Informer,
    Requeue,
    UIDTrackingExpectations,
    WorkQueue,
)
from ..machinery.runtime.telemetry import annotate, context_from_object
from ..machinery.service import ServiceRuntime
from .context import ControllerContext
from .replicaset_facts import PodFacts, PodFactsCache, label_items, pod_facts
from .replicaset_pods import (
    CONTROLLER_UID_INDEX,
    ORPHANS_INDEX,
    Claimer,
    controller_uid_index,
    deleting,
    deletion_order,
    meta,
    orphans_index,
    owner_recheck,
    pod_from_template,
    selector_valid,
    selects,
    slow_start_batches,
    spec,
    status,
    uid,
)

log = logging.getLogger(__name__)

NAME = "replicaset"
BURST_REPLICAS = 500  # Kubernetes' burstReplicas: creates/deletes per pass
SLOW_START_INITIAL_BATCH = 1


@dataclass(frozen=True, slots=True)
class ManagedKind:
    """What the controller manages: ReplicaSets, or ReplicationControllers."""

    name: str  # the controller's (and its work queue's) name
    resource: str  # the plural the objects are read and written as
    api_version: str  # of the owner references put on pods
    kind: str
    selector: Callable[[Obj], Obj | None]  # the object's selector, as a LabelSelector


REPLICASET = ManagedKind(NAME, "replicasets", "apps/v1", "ReplicaSet",
                         lambda rs: spec(rs).get("selector"))


class ReplicaSetController:
    def __init__(self, rt: ServiceRuntime, workers: int = 5, *,
                 burst_replicas: int = BURST_REPLICAS, kind: ManagedKind = REPLICASET) -> None:
        self.rt = rt
        self.api = rt.api
        self.clock = rt.clock
        self.kind = kind
        self.burst_replicas = burst_replicas
        self.rs_informer: Informer[Obj] = rt.informers.informer(kind.resource)
        self.pods: Informer[Obj] = rt.informers.informer("pods")
        for inf in (self.pods, self.rs_informer):
            inf.ensure_indexer(CONTROLLER_UID_INDEX, controller_uid_index)
            inf.ensure_indexer(ORPHANS_INDEX, orphans_index)
        self.expectations = UIDTrackingExpectations(rt.clock)
        self.facts = PodFactsCache()
        self.queue: WorkQueue[str] = rt.work_queue(kind.name)
        self.rs_informer.add_event_handler(self._on_rs_add, self._on_rs_update, self._on_rs_delete)
        self.pods.add_event_handler(self._on_pod_add, self._on_pod_update, self._on_pod_delete)
        self.controller = Controller(
            kind.name, self.queue, self.reconcile, workers,
            trace_context=lambda key: context_from_object(self.rs_informer.get(key)))

    # --- handlers: map events to keys ------------------------------------------------

    def _on_rs_add(self, rs: Obj) -> None:
        self.queue.add(self.rs_informer.key_of(rs))

    def _on_rs_update(self, old: Obj, new: Obj) -> None:
        self.queue.add(self.rs_informer.key_of(new))

    def _on_rs_delete(self, rs: Obj) -> None:
        key = self.rs_informer.key_of(rs)
        self.expectations.delete(key)
        self.queue.add(key)

    def _owner_key(self, namespace: str | None, ref: OwnerReferenceDict | None) -> str | None:
        """The key of the cached ReplicaSet a controller reference points to."""
        if ref is None or ref.get("kind") != self.kind.kind:
            return None
        key = object_key(self.rs_informer.resource, namespace, str(ref.get("name") or ""))
        rs = self.rs_informer.get(key)
        if rs is None or uid(rs) != ref.get("uid"):
            return None
        return key

    def _enqueue_matching(self, pod: Obj) -> None:
        """An orphan: wake every ReplicaSet that may adopt it."""
        for rs in self.rs_informer.list(str(meta(pod).get("namespace") or "")):
            if selects(self.kind.selector(rs), pod):
                self.queue.add(self.rs_informer.key_of(rs))

    def _on_pod_add(self, pod: Obj) -> None:
        if deleting(pod):  # seen first while already going: not a creation we expect
            self._on_pod_delete(pod)
            return
        ref = controller_ref(pod)
        if ref is None:
            self._enqueue_matching(pod)
            return
        key = self._owner_key(meta(pod).get("namespace"), ref)
        if key is not None:
            self.expectations.creation_observed(key)
            self.queue.add(key)

    def _on_pod_update(self, old: Obj, new: Obj) -> None:
        if meta(old).get("resourceVersion") == meta(new).get("resourceVersion"):
            return  # a resync: pods never change without a new revision
        ns = meta(new).get("namespace")
        labels_changed = meta(old).get("labels") != meta(new).get("labels")
        if deleting(new):
            # graceful deletion: the pod stops counting now, not when it is removed
            self._on_pod_delete(new)
            if labels_changed:
                self._on_pod_delete(old)
            return
        cur, prev = controller_ref(new), controller_ref(old)
        ref_changed = cur != prev
        if ref_changed and prev is not None:
            key = self._owner_key(ns, prev)
            if key is not None:
                self.queue.add(key)
        if cur is not None:
            key = self._owner_key(ns, cur)
            if key is not None:
                self.queue.add(key)
            return
        if labels_changed or ref_changed:
            self._enqueue_matching(new)

    def _on_pod_delete(self, pod: Obj) -> None:
        self.facts.forget(self.pods.key_of(pod))
        key = self._owner_key(meta(pod).get("namespace"), controller_ref(pod))
        if key is not None:
            self.expectations.deletion_observed(key, uid(pod))
            self.queue.add(key)

    def _controller_ref(self, rs: Obj) -> OwnerReferenceDict:
        return new_controller_ref(rs, self.kind.api_version, self.kind.kind)

    def _event(self, rs: Obj, type_: str, reason: str, message: str) -> None:
        self.rt.events.record(rs, type_, reason, message)

    # --- reconcile ----------------------------------------------------------------

    async def reconcile(self, key: str) -> Requeue | None:
        rs = self.rs_informer.get(key)
        if rs is None:
            self.expectations.delete(key)
            return None
        satisfied = self.expectations.satisfied(key)
        md = meta(rs)
        claimer = Claimer(self.api, "pods", rs, self._controller_ref(rs), self.kind.selector(rs),
                          owner_recheck(self.api, self.kind.resource, rs))
        pods = await self._claim(rs, claimer)
        manage_err: Exception | None = None
        if satisfied and not deleting(rs):
            manage_err, gone = await self._manage(key, rs, pods)
            if gone:
                # pods just deleted no longer count: a status that still showed them
                # available could let the Deployment controller scale down below its minimum
                pods = [(p, f) for p, f in pods if uid(p) not in gone]
        new_status, next_available = self._status(rs, [f for _, f in pods], manage_err)
        try:
            await self._write_status(rs, new_status)
        except apierrors.ApiError as err:
            if err.code == 404:
                return None
            if err.code != 409:
                raise
            return Requeue(reason="status conflict")  # a newer ReplicaSet is on its way
        if manage_err is not None or claimer.errors:
            first = manage_err or claimer.errors[0]
            log.info("%s %s/%s: %s; retrying", self.kind.name, md.get("namespace"),
                     md.get("name"), first)
            return Requeue(reason=str(first))
        if next_available is not None:
            return Requeue(after=max(next_available, 0.01))
        return None

    async def _claim(self, rs: Obj, claimer: Claimer) -> list[tuple[Obj, PodFacts]]:
        """The active pods the ReplicaSet owns after claiming, each with its facts.

        What ``claimer.claim(active owned and orphans)`` answers, cheaply for the common
        case: a pod the index says this ReplicaSet controls that is active and matches
        needs no more than its cached facts and one selector test; only pods that stopped
        matching (to release) and matching orphans (to adopt) go through the claimer."""
        selector = self.kind.selector(rs)
        if not selector_valid(selector):
            selector = None  # selects nothing
        mine, to_claim = self.facts.select(  # controlled, no longer matching: released
            self.pods.index_items(CONTROLLER_UID_INDEX, uid(rs)), selector)
        orphans, _ = self.facts.select(
            self.pods.index_items(ORPHANS_INDEX, str(meta(rs).get("namespace") or "")), selector)
        to_claim += [p for p, _ in orphans]  # matching orphans: adopted
        if to_claim:
            to_claim.sort(key=self.pods.key_of)
            mine += [(p, pod_facts(p)) for p in await claimer.claim(to_claim)]
        return mine

    async def _manage(self, key: str, rs: Obj, pods: list[tuple[Obj, PodFacts]]
                      ) -> tuple[Exception | None, set[str]]:
        """Create or delete pods toward ``spec.replicas``: (the first error, uids deleted)."""
        want = int(spec(rs).get("replicas", 1) or 0)
        diff = len(pods) - want
        if diff < 0:
            return await self._create(key, rs, min(-diff, self.burst_replicas)), set()
        if diff > 0:
            # in key order, as the cache lists them: deletion_order keeps it among equals
            owned = sorted((p for p, _ in pods), key=self.pods.key_of)
            return await self._delete(key, rs, owned, min(diff, self.burst_replicas))
        return None, set()

    async def _create(self, key: str, rs: Obj, count: int) -> Exception | None:
        md = meta(rs)
        ns = md.get("namespace")
        body = annotate(pod_from_template(rs, spec(rs).get("template") or {},
                                          self._controller_ref(rs)))
        self.expectations.expect_creations(key, count)

        async def create(n: int) -> list[Exception | None]:
            """``n`` pods in one batched create (natsbatch.py): each its own create."""
            try:
                made = await self.api.create_many("pods", ns, [body] * n,
                                                  minimal=True)  # each one's name only
            except apierrors.ApiError as err:  # the batch as a whole: none was made
                made = [err] * n
            out: list[Exception | None] = []
            for pod in made:
                if isinstance(pod, apierrors.ApiError):
                    self._event(rs, WARNING, "FailedCreate", f"Error creating: {pod}")
                    out.append(pod)
                else:
                    self._event(rs, NORMAL, "SuccessfulCreate",
                                f"Created pod: {meta(pod).get('name')}")
                    out.append(None)
            return out

        created, err = await slow_start_batches(count, SLOW_START_INITIAL_BATCH, create)
        for _ in range(count - created):
            # never created (failed or skipped): no add event will lower the expectation
            self.expectations.creation_observed(key)
        if err is not None:
            log.info("%s %s/%s: created %d of %d pods: %s", self.kind.name, ns, md.get("name"),
                     created, count, err)
        return err

    async def _delete(self, key: str, rs: Obj, pods: list[Obj], count: int
                      ) -> tuple[Exception | None, set[str]]:
        ns = meta(rs).get("namespace")
        victims = pods if count >= len(pods) else deletion_order(
            pods, self._related_pods(rs))[:count]
        self.expectations.expect_deletions_of(key, [uid(p) for p in victims])
        errors: list[Exception] = []
        gone: set[str] = set()

        async def delete_one(pod: Obj) -> None:
            name = str(meta(pod).get("name"))
            try:
                await self.api.delete("pods", ns, name)
            except apierrors.ApiError as err:
                self.expectations.deletion_observed(key, uid(pod))
                if err.code != 404:
                    self._event(rs, WARNING, "FailedDelete", f"Error deleting: {err}")
                    errors.append(err)
                else:
                    gone.add(uid(pod))
                return
            gone.add(uid(pod))
            self._event(rs, NORMAL, "SuccessfulDelete", f"Deleted pod: {name}")

        await asyncio.gather(*(delete_one(p) for p in victims))
        return (errors[0] if errors else None), gone

    def _related_pods(self, rs: Obj) -> list[Obj]:
        """Pods of this ReplicaSet and of its siblings (same controller, e.g. one Deployment)."""
        ref = controller_ref(rs)
        owners = [rs] if ref is None else (
            self.rs_informer.by_index(CONTROLLER_UID_INDEX, str(ref.get("uid"))) or [rs])
        related: list[Obj] = []
        for owner in owners:
            related += self.pods.by_index(CONTROLLER_UID_INDEX, uid(owner))
        return related

    # --- status ---------------------------------------------------------------------

    def _status(self, rs: Obj, pods: list[PodFacts], manage_err: Exception | None
                ) -> tuple[Obj, float | None]:
        """The new status, and seconds until the next ready pod becomes available."""
        now = self.clock.now()
        now_s = now.timestamp()
        min_ready = int(spec(rs).get("minReadySeconds") or 0)
        template_labels = ((spec(rs).get("template") or {}).get("metadata") or {}).get(
            "labels") or {}
        want = label_items(template_labels)
        labeled = ready = available = 0
        soonest: float | None = None
        for f in pods:
            if (want <= f.label_set) if want is not None else set_matches(template_labels,
                                                                           f.labels):
                labeled += 1
            if f.ready:
                ready += 1
                wait = 0.0 if min_ready <= 0 else f.available_in(min_ready, now_s)
                if wait == 0.0:
                    available += 1
                elif wait is not None:
                    soonest = wait if soonest is None else min(soonest, wait)
        old = status(rs)
        conditions = [c for c in old.get("conditions") or () if c.get("type") != "ReplicaFailure"]
        failure = get_condition(rs, "ReplicaFailure")
        if manage_err is not None:
            if failure is None:
                diff = len(pods) - int(spec(rs).get("replicas", 1) or 0)
                failure = {"type": "ReplicaFailure", "status": "True",
                           "lastTransitionTime": format_time(now),
                           "reason": "FailedCreate" if diff < 0 else "FailedDelete",
                           "message": str(manage_err)}
            conditions.append(failure)
        new: Obj = {"replicas": len(pods), "fullyLabeledReplicas": labeled,
                    "readyReplicas": ready, "availableReplicas": available,
                    "observedGeneration": int(meta(rs).get("generation") or 0)}
        if conditions:
            new["conditions"] = conditions
        return new, soonest

    async def _write_status(self, rs: Obj, new: Obj) -> None:
        old = status(rs)
        same = (all(int(old.get(k) or 0) == new[k] for k in
                    ("replicas", "fullyLabeledReplicas", "readyReplicas", "availableReplicas",
                     "observedGeneration"))
                and (old.get("conditions") or None) == new.get("conditions"))
        if same:
            return
        md = meta(rs)
        body = {**rs, "status": {**old, **new}}
        if "conditions" not in new:
            body["status"].pop("conditions", None)
        await self.api.update_status(self.kind.resource, md.get("namespace"),
                                     str(md.get("name")), body)


def build(ctx: ControllerContext) -> Controller:
    return ReplicaSetController(ctx.rt, ctx.options.workers(NAME)).controller
