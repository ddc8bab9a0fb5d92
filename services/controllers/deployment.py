"""The Deployment controller: roll a Deployment's pod template out through ReplicaSets.

Kubernetes' deployment controller on jetkube's machinery.  Each pod template
gets one ReplicaSet, ``<deployment>-<pod-template-hash>``, whose selector and
template carry the ``pod-template-hash`` label; the ReplicaSet controller
runs the pods.  Handlers map Deployment, ReplicaSet and (for Recreate) pod
deletion events to the Deployment's key; ``reconcile(key)`` claims the
ReplicaSets (adopting matching orphans, releasing ones that stopped
matching), then, like Kubernetes' syncDeployment:

- a Deployment being deleted only gets its status refreshed;
- a paused one, or one whose ``spec.replicas`` changed, is only scaled
  (proportionally across ReplicaSets while a rollout is in progress);
- otherwise the strategy moves the rollout one step (:mod:`.deployment_rollout`).

Revisions: the new ReplicaSet's ``deployment.kubernetes.io/revision`` is one
more than any old one's and the Deployment carries the same number; setting
the template back to an older one (``kctl rollout undo``) reuses that old
ReplicaSet and bumps its revision.  Writes use compare-and-swap on what the
cache held, so a stale cache yields a conflict and a retry, never a double write.
"""

from __future__ import annotations

import logging

from jetkube.schemas.objects import Obj, OwnerReferenceDict
from jetkube.services.machinery.apimachinery import controller_ref, new_controller_ref

from ..machinery.apimachinery import apierrors
from ..machinery.client import WARNING, Controller, Informer, Requeue, WorkQueue
from ..machinery.runtime.telemetry import context_from_object
from ..machinery.service import ServiceRuntime
from .context import ControllerContext
from .deployment_rollout import DeploymentRollout
from .deployment_util import is_rolling_update
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
    selector_valid,
    selects,
    spec,
    uid,
)

log = logging.getLogger(__name__)

NAME = "deployment"


class DeploymentController:
    def __init__(self, rt: ServiceRuntime, workers: int = 5) -> None:
        self.rt = rt
        self.api = rt.api
        self.deployments: Informer[Obj] = rt.informers.informer("deployments")
        self.rses: Informer[Obj] = rt.informers.informer("replicasets")
        self.pods: Informer[Obj] = rt.informers.informer("pods")
        for inf in (self.rses, self.pods):
            inf.ensure_indexer(CONTROLLER_UID_INDEX, controller_uid_index)
        self.rses.ensure_indexer(ORPHANS_INDEX, orphans_index)
        self.queue: WorkQueue[str] = rt.work_queue(NAME)
        self.deployments.add_event_handler(self._enqueue, lambda _old, new: self._enqueue(new),
                                           self._enqueue)
        self.rses.add_event_handler(self._on_rs_add, self._on_rs_update, self._on_rs_delete)
        self.pods.add_event_handler(on_delete=self._on_pod_delete)
        self.controller = Controller(
            NAME, self.queue, self.reconcile, workers,
            trace_context=lambda key: context_from_object(self.deployments.get(key)))

    # --- handlers: map events to keys -------------------------------------------------

    def _enqueue(self, d: Obj) -> None:
        self.queue.add(self.deployments.key_of(d))

    def _resolve(self, namespace: str | None, ref: OwnerReferenceDict | None) -> Obj | None:
        if ref is None or ref.get("kind") != "Deployment":
            return None
        d = self.deployments.get_by_name(namespace, str(ref.get("name") or ""))
        return d if d is not None and uid(d) == ref.get("uid") else None

    def _enqueue_owner(self, namespace: str | None, ref: OwnerReferenceDict | None) -> None:
        d = self._resolve(namespace, ref)
        if d is not None:
            self._enqueue(d)

    def _enqueue_matching(self, rs: Obj) -> None:
        """An orphan ReplicaSet: wake every Deployment that may adopt it."""
        for d in self.deployments.list(str(meta(rs).get("namespace") or "")):
            if selects(spec(d).get("selector"), rs):
                self._enqueue(d)

    def _on_rs_add(self, rs: Obj) -> None:
        ref = controller_ref(rs)
        if ref is not None:
            self._enqueue_owner(meta(rs).get("namespace"), ref)
        elif not deleting(rs):
            self._enqueue_matching(rs)

    def _on_rs_update(self, old: Obj, new: Obj) -> None:
        if meta(old).get("resourceVersion") == meta(new).get("resourceVersion"):
            return  # a resync: the Deployment's own resync covers it
        ns = meta(new).get("namespace")
        cur, prev = controller_ref(new), controller_ref(old)
        if cur != prev and prev is not None:
            self._enqueue_owner(ns, prev)
        if cur is not None:
            self._enqueue_owner(ns, cur)
        elif cur != prev or meta(old).get("labels") != meta(new).get("labels"):
            self._enqueue_matching(new)

    def _on_rs_delete(self, rs: Obj) -> None:
        self._enqueue_owner(meta(rs).get("namespace"), controller_ref(rs))

    def _on_pod_delete(self, pod: Obj) -> None:
        """Recreate waits for the old pods to be gone: their deletion wakes it."""
        ref = controller_ref(pod)
        if ref is None or ref.get("kind") != "ReplicaSet":
            return
        ns = meta(pod).get("namespace")
        rs = self.rses.get_by_name(ns, str(ref.get("name") or ""))
        d = self._resolve(ns, controller_ref(rs)) if rs is not None else None
        if d is not None and not is_rolling_update(d):
            self._enqueue(d)

    # --- reconcile ----------------------------------------------------------------------

    async def reconcile(self, key: str) -> Requeue | None:
        cached = self.deployments.get(key)
        if cached is None:
            return None
        try:
            return await self._sync(cached)
        except apierrors.ApiError as err:
            if err.code == 404:
                return None  # deleted meanwhile; its delete event comes next
            if err.code == 409:
                md = meta(cached)
                log.debug("deployment %s/%s: %s; retrying", md.get("namespace"), md.get("name"),
                          err)
                return Requeue(reason="conflict")  # our cache was behind: retry from a fresher one
            raise

    async def _sync(self, d: Obj) -> Requeue | None:
        if not selector_valid(spec(d).get("selector")):
            self.rt.events.record(d, WARNING, "SelectingAll", "This deployment is selecting all "
                                  "pods. A non-empty selector is required.")
            return None
        claimer = Claimer(self.api, "replicasets", d, new_controller_ref(d, "apps/v1", "Deployment"),
                          spec(d).get("selector"), owner_recheck(self.api, "deployments", d))
        rs_list = await claimer.claim(owned_and_orphans(self.rses, d))
        result = await self._step(DeploymentRollout(self.api, self.rt.events, self.rt.clock, d,
                                                    rs_list))
        if claimer.errors and result is None:
            md = meta(d)
            log.info("deployment %s/%s: claiming replica sets: %s; retrying", md.get("namespace"),
                     md.get("name"), claimer.errors[0])
            return Requeue(reason=str(claimer.errors[0]))
        return result

    async def _step(self, s: DeploymentRollout) -> Requeue | None:
        if deleting(s.d):
            await s.sync_status_only()
            return None
        await s.check_paused_conditions()
        if s.paused or await s.is_scaling_event():
            await s.sync()
            return None
        if is_rolling_update(s.d):
            return await s.rollout_rolling()
        return await s.rollout_recreate(self._pods_by_rs(s.d, s.rs_list))

    def _pods_by_rs(self, d: Obj, rs_list: list[Obj]) -> dict[str, list[Obj]]:
        """Each ReplicaSet's pods that the Deployment selects (Kubernetes' getPodMapForDeployment)."""
        selector = spec(d).get("selector")
        return {uid(rs): [p for p in self.pods.by_index(CONTROLLER_UID_INDEX, uid(rs))
                          if selects(selector, p)] for rs in rs_list}


def build(ctx: ControllerContext) -> Controller:
    return DeploymentController(ctx.rt, ctx.options.workers(NAME)).controller
