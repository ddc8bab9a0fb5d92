"""DaemonSet controller (apps/v1): one pod per eligible node.

Kubernetes' DaemonSet controller, client-go style: DaemonSet, pod and node events enqueue
DaemonSet keys; ``reconcile`` recomputes per node; expectations keep a stale cache from
creating or deleting twice.

- **Eligible node** (Kubernetes' ``NodeShouldRunDaemonPod``): the template's
  ``nodeSelector`` and required node affinity match, its ``nodeName`` (if any) is the node,
  and every NoSchedule/NoExecute taint is tolerated.  A pod already there keeps running
  while its NoExecute taints are tolerated (a new NoSchedule taint does not evict it).
- **Placement: ``spec.nodeName`` is set directly** on the pods this controller creates
  (the pre-1.12 Kubernetes way), not node affinity + the scheduler: the pod reaches its
  node agent without a scheduling hop and does not depend on the scheduler running.
  Node resources are therefore not checked for daemon pods (as with static pods).
- **Tolerations.** Pods get the template's tolerations plus Kubernetes' daemon defaults:
  ``not-ready``/``unreachable`` (NoExecute, forever), ``disk-pressure``,
  ``memory-pressure``, ``pid-pressure``, ``unschedulable`` (NoSchedule), and
  ``network-unavailable`` for host-network pods.
- **Nodes coming and going.** A new eligible node gets a pod; a node no longer eligible
  loses it; pods on a deleted node are deleted with grace 0 (no agent will finish them).
  Failed pods are deleted and replaced; of two pods on a node the oldest is kept.
- **Updates.** Pods carry ``controller-revision-hash`` (a hash of the template) and
  ``pod-template-generation``.  RollingUpdate: old pods that are not available go at
  once; available ones are deleted while fewer than ``maxUnavailable`` (int or percent
  of desiredNumberScheduled, rounded up) nodes lack an available pod; the replacement
  is created once the old pod is gone.  OnDelete: old pods stay until deleted.
- **Status**: desired/current/misscheduled/ready/available/unavailable/updated numbers
  and observedGeneration.

Not modelled: maxSurge (surge pods), ControllerRevision objects and rollback history,
a back-off for pods that keep failing, adoption of orphaned pods.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import logging
import math
from collections import defaultdict

import orjson

from jetkube.schemas import Taint, Toleration, requirement_matches, set_matches, toleration_tolerates_taint
from jetkube.schemas.objects import Obj
from jetkube.services.machinery.apimachinery import controller_ref, new_controller_ref

from ..machinery.apimachinery import apierrors, object_key
from ..machinery.client import Controller, Requeue, UIDTrackingExpectations, WorkQueue, by_owner_uid
from ..machinery.runtime.telemetry import context_from_object
from .context import ControllerContext
from .replicaset_pods import available_in, is_ready

log = logging.getLogger(__name__)

OWNER_INDEX = "workloads/controller-uid"  # shared with the other workload controllers
HASH_LABEL = "controller-revision-hash"
GENERATION_LABEL = "pod-template-generation"
_EXISTS = "Exists"
DAEMON_TOLERATIONS: list[Obj] = [
    {"key": "node.kubernetes.io/not-ready", "operator": _EXISTS, "effect": "NoExecute"},
    {"key": "node.kubernetes.io/unreachable", "operator": _EXISTS, "effect": "NoExecute"},
    {"key": "node.kubernetes.io/disk-pressure", "operator": _EXISTS, "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/memory-pressure", "operator": _EXISTS, "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/pid-pressure", "operator": _EXISTS, "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/unschedulable", "operator": _EXISTS, "effect": "NoSchedule"},
]
HOST_NETWORK_TOLERATION: Obj = {"key": "node.kubernetes.io/network-unavailable",
                                "operator": _EXISTS, "effect": "NoSchedule"}


# --- node eligibility ------------------------------------------------------------------


def daemon_tolerations(pod_spec: Obj) -> list[Obj]:
    """The template's tolerations with the daemon defaults added (replacing equal ones)."""
    defaults = DAEMON_TOLERATIONS + ([HOST_NETWORK_TOLERATION] if pod_spec.get("hostNetwork")
                                     else [])
    same = {(t["key"], t["operator"], t["effect"]) for t in defaults}
    own = [t for t in pod_spec.get("tolerations") or []
           if (t.get("key"), t.get("operator"), t.get("effect")) not in same]
    return own + [dict(t) for t in defaults]


def _requirement_matches(req: Obj, value: str | None) -> bool:
    return requirement_matches(req.get("operator"), value,
                               [str(v) for v in req.get("values") or []])


def term_matches(term: Obj, node: Obj) -> bool:
    """A NodeSelectorTerm: its expressions (labels) and fields (metadata.name) all match."""
    exprs, fields = term.get("matchExpressions") or [], term.get("matchFields") or []
    if not exprs and not fields:
        return False
    labels = node["metadata"].get("labels") or {}
    return (all(_requirement_matches(r, labels.get(r.get("key"))) for r in exprs)
            and all(r.get("key") == "metadata.name"
                    and _requirement_matches(r, node["metadata"]["name"]) for r in fields))


def node_matches(pod_spec: Obj, node: Obj) -> bool:
    """nodeSelector and required node affinity (terms ORed)."""
    labels = node["metadata"].get("labels") or {}
    if not set_matches(pod_spec.get("nodeSelector"), labels):
        return False
    required = (((pod_spec.get("affinity") or {}).get("nodeAffinity") or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution"))
    if required is None:
        return True
    return any(term_matches(t, node) for t in required.get("nodeSelectorTerms") or [])


def should_run(pod_spec: Obj, tolerations: list[Toleration], node: Obj) -> tuple[bool, bool]:
    """``(should run a new pod here, may a pod already here keep running)``."""
    wanted = pod_spec.get("nodeName")
    if (wanted and wanted != node["metadata"]["name"]) or not node_matches(pod_spec, node):
        return False, False
    untolerated = {t.effect for t in (Taint.model_validate(raw) for raw in
                                      (node.get("spec") or {}).get("taints") or [])
                   if t.effect in ("NoSchedule", "NoExecute")
                   and not any(toleration_tolerates_taint(tol, t) for tol in tolerations)}
    return not untolerated, "NoExecute" not in untolerated


# --- pods --------------------------------------------------------------------------------




def template_hash(ds: Obj) -> str:
    raw = orjson.dumps(ds["spec"]["template"], option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(raw).hexdigest()[:10]


def scaled(value: int | str | None, total: int) -> int:
    """An IntOrString like maxUnavailable: an int, or a percent of ``total`` rounded up."""
    if isinstance(value, str) and value.endswith("%"):
        return math.ceil(int(value[:-1]) * total / 100)
    return int(value or 0)


class DaemonSetController:
    def __init__(self, ctx: ControllerContext) -> None:
        rt = ctx.rt
        self.api, self.clock = rt.api, rt.clock
        self.daemonsets = rt.informers.informer("daemonsets")
        self.pods = rt.informers.informer("pods")
        self.nodes = rt.informers.informer("nodes")
        self.pods.ensure_indexer(OWNER_INDEX, by_owner_uid(controller_only=True))
        self.queue: WorkQueue[str] = rt.work_queue("daemonset")
        self.expectations = UIDTrackingExpectations(rt.clock)
        self.daemonsets.add_event_handler(
            on_add=self._ds_changed, on_update=lambda _o, n: self._ds_changed(n),
            on_delete=lambda ds: self.expectations.delete(self.daemonsets.key_of(ds)))
        self.pods.add_event_handler(on_add=self._pod_added, on_update=self._pod_updated,
                                    on_delete=self._pod_deleted)
        self.nodes.add_event_handler(on_add=self._all, on_update=self._node_updated,
                                     on_delete=self._all)
        self.controller = Controller(
            "daemonset", self.queue, self.reconcile, ctx.options.workers("daemonset"),
            trace_context=lambda key: context_from_object(self.daemonsets.get(key)))

    # --- handlers -------------------------------------------------------------------------

    def _ds_changed(self, ds: Obj) -> None:
        self.queue.add(self.daemonsets.key_of(ds))

    def _all(self, _node: Obj) -> None:
        for key in self.daemonsets.keys():
            self.queue.add(key)

    def _node_updated(self, old: Obj, new: Obj) -> None:
        if (old["metadata"].get("labels") != new["metadata"].get("labels")
                or (old.get("spec") or {}).get("taints") != (new.get("spec") or {}).get("taints")):
            self._all(new)

    def _owner_key(self, pod: Obj) -> str | None:
        ref = controller_ref(pod, "DaemonSet")
        return object_key("daemonsets", pod["metadata"].get("namespace"),
                          ref["name"]) if ref else None

    def _pod_added(self, pod: Obj) -> None:
        if key := self._owner_key(pod):
            self.expectations.creation_observed(key)
            self.queue.add(key)

    def _pod_updated(self, old: Obj, new: Obj) -> None:
        if key := self._owner_key(new):
            if new["metadata"].get("deletionTimestamp") and not old["metadata"].get(
                    "deletionTimestamp"):
                self.expectations.deletion_observed(key, new["metadata"].get("uid"))
            self.queue.add(key)

    def _pod_deleted(self, pod: Obj) -> None:
        if key := self._owner_key(pod):
            self.expectations.deletion_observed(key, pod["metadata"].get("uid"))
            self.queue.add(key)

    # --- reconcile --------------------------------------------------------------------------

    async def reconcile(self, key: str) -> Requeue | None:
        ds = self.daemonsets.get(key)
        if ds is None or ds["metadata"].get("deletionTimestamp"):
            return None
        if not self.expectations.satisfied(key):
            return None  # pod events re-enqueue the DaemonSet as the cache catches up
        md, spec = ds["metadata"], ds["spec"]
        pod_spec = spec["template"].get("spec") or {}
        tolerations = [Toleration.model_validate(t) for t in daemon_tolerations(pod_spec)]
        current_hash = template_hash(ds)
        min_ready = int(spec.get("minReadySeconds") or 0)
        now = self.clock.now()
        strategy = spec.get("updateStrategy") or {}
        rolling = strategy.get("type", "RollingUpdate") == "RollingUpdate"
        by_node: dict[str, list[Obj]] = defaultdict(list)
        for p in self.pods.by_index(OWNER_INDEX, md["uid"]):
            if p["metadata"].get("namespace") == md["namespace"]:
                by_node[(p.get("spec") or {}).get("nodeName") or ""].append(p)
        create: list[str] = []
        delete: list[Obj] = []
        force: list[Obj] = []  # pods on nodes that are gone
        counts = dict.fromkeys(("desired", "current", "misscheduled", "ready", "available",
                                "updated"), 0)
        wait: list[float] = []
        old_available: list[Obj] = []
        unavailable = 0
        nodes = {n["metadata"]["name"]: n for n in self.nodes.list()}
        for name, on in by_node.items():
            if name not in nodes:
                force += [p for p in on if not p["metadata"].get("deletionTimestamp")]
        for name, node in nodes.items():
            run, keep = should_run(pod_spec, tolerations, node)
            on = by_node.get(name, [])
            live = [p for p in on if not p["metadata"].get("deletionTimestamp")]
            counts["desired"] += run
            counts["current"] += run and bool(live)
            counts["misscheduled"] += (not run) and bool(live)
            if not keep:
                delete += live
                continue
            if run and not on:
                create.append(name)
                unavailable += 1
                continue
            running = sorted((p for p in live if (p.get("status") or {}).get("phase")
                              not in ("Succeeded", "Failed")),
                             key=lambda p: p["metadata"].get("creationTimestamp") or "")
            delete += [p for p in live if p not in running] + running[1:]
            if not run:
                continue  # kept where it runs, but not replaced by a rollout: none would come
            if not running:
                unavailable += 1
                continue
            pod = running[0]
            ready = is_ready(pod)
            left = available_in(pod, min_ready, now)
            available = left == 0.0
            if ready and not available:  # Kubernetes requeues after minReadySeconds
                wait.append(left if left is not None else float(min_ready))
            updated = (pod["metadata"].get("labels") or {}).get(HASH_LABEL) == current_hash
            counts["ready"] += ready
            counts["available"] += available
            counts["updated"] += updated
            if updated:
                unavailable += not available
            elif not available:
                unavailable += 1
                if rolling:
                    delete.append(pod)  # an old pod that is not available goes at once
            else:
                old_available.append(pod)
        if rolling and old_available:
            budget = max(1, scaled((strategy.get("rollingUpdate") or {}).get(
                "maxUnavailable", 1), counts["desired"])) - unavailable
            delete += old_available[:max(0, budget)]
        await self._act(key, ds, create, delete, force, current_hash)
        await self._write_status(ds, counts)
        return Requeue(after=max(min(wait), 0.001)) if wait else None

    async def _act(self, key: str, ds: Obj, create: list[str], delete: list[Obj],
                   force: list[Obj], current_hash: str) -> None:
        if not (create or delete or force):
            return
        self.expectations.expect_deletions_of(key, [p["metadata"]["uid"] for p in delete + force])
        self.expectations.raise_expectations(key, len(create), 0)

        async def make(node: str) -> None:
            try:
                await self.api.create("pods", ds["metadata"]["namespace"],
                                      self._pod(ds, node, current_hash))
            except Exception:
                self.expectations.creation_observed(key)
                raise

        async def remove(pod: Obj, grace: int | None) -> None:
            pmd = pod["metadata"]
            try:
                await self.api.delete("pods", pmd["namespace"], pmd["name"],
                                      grace_period_seconds=grace)
            except Exception as err:
                self.expectations.deletion_observed(key, pmd["uid"])
                if not (isinstance(err, apierrors.ApiError) and err.code == 404):
                    raise

        results = await asyncio.gather(
            *(make(n) for n in create), *(remove(p, None) for p in delete),
            *(remove(p, 0) for p in force), return_exceptions=True)
        errors = [r for r in results if isinstance(r, BaseException)]
        if errors:
            raise errors[0]

    def _pod(self, ds: Obj, node: str, current_hash: str) -> Obj:
        md, tpl = ds["metadata"], ds["spec"]["template"]
        tmd = tpl.get("metadata") or {}
        pod_spec = copy.deepcopy(tpl.get("spec") or {})
        pod_spec["nodeName"] = node
        pod_spec["tolerations"] = daemon_tolerations(pod_spec)
        labels = {**(tmd.get("labels") or {}), HASH_LABEL: current_hash,
                  GENERATION_LABEL: str(md.get("generation", 1))}
        return {"apiVersion": "v1", "kind": "Pod", "metadata": {
            "generateName": f"{md['name']}-", "namespace": md["namespace"], "labels": labels,
            "annotations": dict(tmd.get("annotations") or {}),
            "ownerReferences": [new_controller_ref(ds, "apps/v1", "DaemonSet")]},
            "spec": pod_spec}

    async def _write_status(self, ds: Obj, counts: dict[str, int]) -> None:
        old: Obj = ds.get("status") or {}
        status = {**old,
                  "desiredNumberScheduled": counts["desired"],
                  "currentNumberScheduled": counts["current"],
                  "numberMisscheduled": counts["misscheduled"],
                  "numberReady": counts["ready"],
                  "numberAvailable": counts["available"],
                  "numberUnavailable": max(0, counts["desired"] - counts["available"]),
                  "updatedNumberScheduled": counts["updated"],
                  "observedGeneration": ds["metadata"].get("generation", 1)}
        if status == old:
            return
        md = ds["metadata"]
        try:
            await self.api.update_status("daemonsets", md["namespace"], md["name"],
                                         {**ds, "status": status})
        except apierrors.ApiError as err:
            if err.code in (404, 409):
                raise Requeue(reason=f"daemonset {md['name']}: {err.reason}") from None
            raise


def build(ctx: ControllerContext) -> Controller:
    return DaemonSetController(ctx).controller
