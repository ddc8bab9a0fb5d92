"""The pvc-protection controller (Kubernetes' ``pvcprotection``): a PersistentVolumeClaim
in use by a pod is not removed until no pod uses it.

The ``kubernetes.io/pvc-protection`` finalizer is set on every claim (by the
StorageObjectInUseProtection admission plugin, and here on any claim without it that is
not being deleted).  A claim being deleted keeps it while a pod of its namespace that is
scheduled (``spec.nodeName`` set) and not finished (phase neither Succeeded nor Failed)
names it in a ``persistentVolumeClaim`` volume, or through an ``ephemeral`` volume
(the claim ``<pod>-<volume>``).  The node agent starts no pod whose claim is being
deleted, so an unscheduled pod does not hold it.  Before the finalizer goes, a claim the
pod cache finds unused is checked once more against a live list of the namespace's pods
(``askAPIServer``), so a cache that is behind never lets a used claim go.

Handlers map claim events to the claim, and pod events (a pod deleted, finished, or
naming a claim being deleted) to the claims the pod names.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from jetkube.schemas.objects import Obj
from jetkube.schemas.storageutil import PVC_PROTECTION
from jetkube.schemas.volumematch import pod_claim_names

from ..machinery.apimachinery import object_key
from ..machinery.client import Controller, IndexFunc, Requeue, WorkQueue
from .context import ControllerContext
from .pvprotection import set_finalizer

log = logging.getLogger(__name__)

PVCS = "persistentvolumeclaims"
FINISHED = ("Succeeded", "Failed")
CLAIM_INDEX = "pvc-protection/claims"


def _names_a_claim(pod: Obj) -> bool:
    """Whether ``pod_claim_names`` could name anything (most pods: no, and no list built)."""
    for v in (pod.get("spec") or {}).get("volumes") or ():
        if isinstance(v, dict) and (v.get("persistentVolumeClaim")
                                    or v.get("ephemeral") is not None):
            return True
    return False


def uses_claims(pod: Obj) -> Iterable[str]:
    """The claims a pod holds: only while it is scheduled and not finished."""
    if not (pod.get("spec") or {}).get("nodeName") or not _names_a_claim(pod):
        return ()
    if (pod.get("status") or {}).get("phase") in FINISHED:
        return ()
    return pod_claim_names(pod)


def _claim_index(pod: Obj) -> Iterable[str]:
    """Runs for every pod event: a pod naming no claim costs a look at its volumes."""
    names = uses_claims(pod)
    if not names:
        return ()
    ns = pod["metadata"].get("namespace") or ""
    return [f"{ns}/{name}" for name in names]


class PVCProtectionController:
    name = "pvc-protection"

    def __init__(self, ctx: ControllerContext) -> None:
        rt = ctx.rt
        self.api = rt.api
        self.claims = rt.informers.informer(PVCS)
        self.pods = rt.informers.informer("pods")
        index: IndexFunc[Obj] = _claim_index
        self.pods.ensure_indexer(CLAIM_INDEX, index)
        self.queue: WorkQueue[str] = rt.work_queue(self.name)
        self.claims.add_event_handler(on_add=self._claim, on_update=lambda _o, n: self._claim(n))
        self.pods.add_event_handler(on_add=self._pod, on_update=lambda _o, n: self._pod(n),
                                    on_delete=self._pod)
        self.controller = Controller(self.name, self.queue, self.reconcile,
                                     ctx.options.workers(self.name, 1))

    def _claim(self, claim: Obj) -> None:
        self.queue.add(self.claims.key_of(claim))

    def _pod(self, pod: Obj) -> None:
        if not _names_a_claim(pod):
            return
        ns = pod["metadata"].get("namespace")
        for name in pod_claim_names(pod):
            self.queue.add(object_key(PVCS, ns, name))

    def start(self) -> None:
        self.controller.start()

    async def stop(self, grace_seconds: float | None = None) -> None:
        await self.controller.stop(grace_seconds)

    async def reconcile(self, key: str) -> Requeue | None:
        claim = self.claims.get(key)
        if claim is None:
            return None
        md = claim["metadata"]
        if not md.get("deletionTimestamp"):
            await set_finalizer(self.api, PVCS, claim, PVC_PROTECTION, True)
            return None
        if PVC_PROTECTION not in (md.get("finalizers") or ()):
            return None
        ns, name = str(md.get("namespace") or ""), str(md["name"])
        if self.pods.index_keys(CLAIM_INDEX, f"{ns}/{name}") or await self._used_live(ns, name):
            return None  # a pod event enqueues the claim again when the pod lets it go
        if await set_finalizer(self.api, PVCS, claim, PVC_PROTECTION, False):
            log.info("claim %s/%s is used by no pod: its protection is removed", ns, name)
        return None

    async def _used_live(self, namespace: str, name: str) -> bool:
        """``askAPIServer``: the namespace's pods as the API server has them now."""
        pods = await self.api.list("pods", namespace)
        return any(name in uses_claims(p) for p in pods.get("items") or ())


def build(ctx: ControllerContext) -> PVCProtectionController:
    return PVCProtectionController(ctx)
