"""The persistentvolume controller (kube-controller-manager's ``persistentvolume-binder``):
binds claims to volumes and moves both through their phases, as ``pv_controller.go``.

One work queue holds claim keys and volume keys (store keys name their resource);
handlers only map events to keys; ``reconcile`` syncs one object from the caches.

**Claims** (``syncClaim``).  A claim not yet bound (no ``bind-completed`` annotation):
- with no ``spec.volumeName``: the best matching volume (``volumematch``: class, access
  modes, volume mode, selector, smallest that fits; a volume pre-bound to the claim
  first) is bound.  None: a class that waits for its first consumer
  (``WaitForFirstConsumer``) waits, event ``WaitForFirstConsumer``, until the scheduler
  annotates the claim with ``volume.kubernetes.io/selected-node``; then only volumes whose
  node affinity admits that node match.  Still none and the claim has a class: the claim
  is annotated ``volume.kubernetes.io/storage-provisioner`` with the class's provisioner
  (event ``ExternalProvisioning``) and its provisioner creates a volume pre-bound to it
  (localpath.py for ``jetkube.io/local-path``).  No class: event ``FailedBinding``.
- with ``spec.volumeName`` (pre-bound by the user): bound to that volume if it is free or
  already this claim's and satisfies it; else the claim stays ``Pending`` with an event.
A bound claim whose volume is gone, or bound to another claim, is ``Lost``.

**Volumes** (``syncVolume``).  No claimRef (or one without uid, pre-bound by a user):
``Available``.  Bound to a claim that exists with that uid and names it: ``Bound``.  The
claim gone (checked with the API server, not only the cache): ``Released``, then the
reclaim policy: ``Retain`` keeps it Released for an admin; ``Delete`` of a volume a
provisioner made (``pv.kubernetes.io/provisioned-by``) is that provisioner's to delete;
``Delete`` of any other volume and ``Recycle`` have no plugin here: ``Failed``.  Bound to a
claim that went to another volume: made ``Available`` again if the controller bound it
(a provisioned one with ``Delete`` is released instead).

A claim created with no class while no class was default gets the default class once
there is one (retroactive assignment).  A bound claim's status follows its volume's
capacity (which a resizer grows: localpath.py).  Not modelled: the periodic resync (events
drive every sync), migration annotations.
"""

from __future__ import annotations

import logging

from opentelemetry.context import Context

from jetkube.schemas.objects import Obj
from jetkube.schemas.storageutil import (
    ANN_BETA_STORAGE_PROVISIONER,
    ANN_BIND_COMPLETED,
    ANN_DYNAMICALLY_PROVISIONED,
    ANN_SELECTED_NODE,
    ANN_STORAGE_PROVISIONER,
    default_class,
)
from jetkube.schemas.volumematch import claim_class, find_matching_volume, mismatch

from ..machinery.apimachinery import apierrors, object_key, parse_key
from ..machinery.client import NORMAL, WARNING, Controller, IndexFunc, Requeue, WorkQueue
from ..machinery.runtime.telemetry import context_from_object
from .context import ControllerContext
from .persistentvolume_bind import PVCS, PVS, VolumeWriter

log = logging.getLogger(__name__)

PENDING_BY_CLASS = "pv-binder/pending-claims-by-class"
NO_PROVISIONER = "kubernetes.io/no-provisioner"


def _pending_by_class(claim: Obj) -> list[str]:
    """Claims that wait for a volume, indexed by their class."""
    if (claim.get("spec") or {}).get("volumeName"):
        return []
    return [claim_class(claim)]


def _claim_key_of(volume: Obj) -> str | None:
    ref = (volume.get("spec") or {}).get("claimRef") or {}
    if not ref.get("name"):
        return None
    return object_key(PVCS, ref.get("namespace"), str(ref["name"]))


class PersistentVolumeController:
    name = "persistentvolume-binder"

    def __init__(self, ctx: ControllerContext) -> None:
        rt = ctx.rt
        self.api, self.events, self.clock = rt.api, rt.events, rt.clock
        self.writer = VolumeWriter(rt.api, rt.events, rt.clock)
        self.volumes = rt.informers.informer(PVS)
        self.claims = rt.informers.informer(PVCS)
        self.classes = rt.informers.informer("storageclasses")
        self.nodes = rt.informers.informer("nodes")
        index: IndexFunc[Obj] = _pending_by_class
        self.claims.ensure_indexer(PENDING_BY_CLASS, index)
        self.queue: WorkQueue[str] = rt.work_queue(self.name)
        self.claims.add_event_handler(on_add=self._claim, on_update=lambda _o, n: self._claim(n),
                                      on_delete=self._claim_deleted)
        self.volumes.add_event_handler(on_add=self._volume,
                                       on_update=lambda _o, n: self._volume(n),
                                       on_delete=self._volume_deleted)
        self.classes.add_event_handler(on_add=self._class, on_update=lambda _o, n: self._class(n))
        self.controller = Controller(
            self.name, self.queue, self.reconcile, ctx.options.workers(self.name, 2),
            trace_context=self._trace_context)

    def _trace_context(self, key: str) -> Context | None:
        informer = self.volumes if key.startswith(PVS + ".") else self.claims
        return context_from_object(informer.get(key))

    # --- handlers: event -> keys ---------------------------------------------------------

    def _claim(self, claim: Obj) -> None:
        self.queue.add(self.claims.key_of(claim))

    def _claim_deleted(self, claim: Obj) -> None:
        volume = (claim.get("spec") or {}).get("volumeName")
        if volume:  # its volume is released
            self.queue.add(object_key(PVS, None, str(volume)))

    def _volume(self, volume: Obj) -> None:
        self.queue.add(self.volumes.key_of(volume))
        spec = volume.get("spec") or {}
        if spec.get("claimRef") is None:  # a free volume: claims of its class may take it
            self._pending(str(spec.get("storageClassName") or ""))
        else:
            key = _claim_key_of(volume)
            if key:
                self.queue.add(key)

    def _volume_deleted(self, volume: Obj) -> None:
        key = _claim_key_of(volume)
        if key:  # its claim is lost
            self.queue.add(key)

    def _class(self, cls: Obj) -> None:
        self._pending(str(cls["metadata"]["name"]))
        self._pending("")  # claims with no class may get this one, if it is the default

    def _pending(self, cls: str) -> None:
        for key in self.claims.index_keys(PENDING_BY_CLASS, cls):
            self.queue.add(key)

    def start(self) -> None:
        self.controller.start()

    async def stop(self, grace_seconds: float | None = None) -> None:
        await self.controller.stop(grace_seconds)

    # --- reconcile ---------------------------------------------------------------------------

    async def reconcile(self, key: str) -> Requeue | None:
        try:
            if parse_key(key).resource == PVS:
                volume = self.volumes.get(key)
                if volume is not None:
                    await self.sync_volume(volume)
            else:
                claim = self.claims.get(key)
                if claim is not None:
                    await self.sync_claim(claim)
        except apierrors.ApiError as err:
            if err.code in (404, 409):  # a stale cache: sync again from a fresher one
                return Requeue(reason=err.message)
            raise
        return None

    # --- claims ------------------------------------------------------------------------------

    async def sync_claim(self, claim: Obj) -> None:
        if ANN_BIND_COMPLETED not in (claim["metadata"].get("annotations") or {}):
            await self._sync_unbound_claim(claim)
        else:
            await self._sync_bound_claim(claim)

    def _class_obj(self, name: str) -> Obj | None:
        return self.classes.get_by_name(None, name) if name else None

    def _delay_binding(self, claim: Obj) -> bool:
        """``shouldDelayBinding``: the class waits for the first consumer, and the scheduler
        has not yet chosen a node for the claim."""
        if ANN_SELECTED_NODE in (claim["metadata"].get("annotations") or {}):
            return False
        cls = self._class_obj(claim_class(claim))
        return cls is not None and cls.get("volumeBindingMode") == "WaitForFirstConsumer"

    def _selected_node(self, claim: Obj) -> tuple[str, dict[str, str]] | None:
        name = (claim["metadata"].get("annotations") or {}).get(ANN_SELECTED_NODE)
        if not name:
            return None
        node = self.nodes.get_by_name(None, name)
        labels = ((node or {}).get("metadata") or {}).get("labels") or {
            "kubernetes.io/hostname": name}
        return name, labels

    async def _sync_unbound_claim(self, claim: Obj) -> None:
        md, spec = claim["metadata"], claim.get("spec") or {}
        if md.get("deletionTimestamp"):
            return
        name = spec.get("volumeName")
        if not name:
            delay = self._delay_binding(claim)
            volume = find_matching_volume(claim, self.volumes.list(),
                                          node=self._selected_node(claim), delay_binding=delay)
            if volume is not None:
                await self.writer.bind(volume, claim)
                return
            if await self._assign_default_class(claim):
                return  # synced again from the update
            if delay:
                self.events.record(claim, NORMAL, "WaitForFirstConsumer",
                                   "waiting for first consumer to be created before binding")
            elif claim_class(claim):
                await self._provision(claim)
            else:
                self.events.record(claim, NORMAL, "FailedBinding",
                                   "no persistent volumes available for this claim and no "
                                   "storage class is set")
            await self.writer.claim_phase(claim, "Pending")
            return
        volume = self.volumes.get_by_name(None, str(name))
        if volume is None:
            self.events.record(claim, WARNING, "FailedBinding", f'volume "{name}" not found')
            await self.writer.claim_phase(claim, "Pending")
            return
        ref = (volume.get("spec") or {}).get("claimRef")
        if ref is None or (ref.get("name") == md.get("name")
                           and ref.get("namespace") == md.get("namespace")
                           and ref.get("uid") in (None, md.get("uid"))):
            why = mismatch(volume, claim)
            if why is None:
                await self.writer.bind(volume, claim)
                return
            self.events.record(claim, WARNING, "VolumeMismatch",
                               f"Cannot bind to requested volume \"{name}\": {why}")
        else:
            self.events.record(claim, WARNING, "FailedBinding",
                               "volume \"" + str(name) + "\" already bound to a different claim.")
        await self.writer.claim_phase(claim, "Pending")

    async def _assign_default_class(self, claim: Obj) -> bool:
        """``assignDefaultStorageClass``: a claim created with no class (not ``""``) before
        any class was default gets the default class once there is one (Kubernetes'
        retroactive default StorageClass assignment).  True if it wrote."""
        if "storageClassName" in (claim.get("spec") or {}):
            return False
        name = default_class(self.classes.list())
        if name is None:
            return False
        md = claim["metadata"]
        await self.api.patch(PVCS, md.get("namespace"), md["name"],
                             {"spec": {"storageClassName": name}})
        log.info("claim %s/%s: assigned the default class %s", md.get("namespace"),
                 md["name"], name)
        return True

    async def _provision(self, claim: Obj) -> None:
        """``provisionClaim`` for an external provisioner: name it on the claim and wait."""
        cls_name = claim_class(claim)
        cls = self._class_obj(cls_name)
        if cls is None:
            self.events.record(claim, WARNING, "ProvisioningFailed",
                               f'storageclass.storage.k8s.io "{cls_name}" not found')
            return
        provisioner = str(cls.get("provisioner") or "")
        if provisioner == NO_PROVISIONER:  # static volumes only: wait for one
            self.events.record(claim, NORMAL, "FailedBinding",
                               f"no volume plugin matched name: {NO_PROVISIONER}")
            return
        anns = claim["metadata"].get("annotations") or {}
        if anns.get(ANN_STORAGE_PROVISIONER) != provisioner:
            md = claim["metadata"]
            patch = {"metadata": {"annotations": {ANN_STORAGE_PROVISIONER: provisioner,
                                                  ANN_BETA_STORAGE_PROVISIONER: provisioner}}}
            await self.api.patch(PVCS, md.get("namespace"), md["name"], patch)
        self.events.record(claim, NORMAL, "ExternalProvisioning",
                           f"Waiting for a volume to be created either by the external "
                           f"provisioner '{provisioner}' or manually by the system administrator. "
                           "If volume creation is delayed, please verify that the provisioner "
                           "is running and correctly registered.")

    async def _sync_bound_claim(self, claim: Obj) -> None:
        name = (claim.get("spec") or {}).get("volumeName")
        if not name:
            await self._lost(claim, "Bound claim has lost reference to PersistentVolume. Data "
                                    "on the volume is lost!")
            return
        volume = self.volumes.get_by_name(None, str(name))
        if volume is None:
            await self._lost(claim, "Bound claim has lost its PersistentVolume. Data on the "
                                    "volume is lost!")
            return
        ref = (volume.get("spec") or {}).get("claimRef")
        if ref is None or ref.get("uid") == claim["metadata"].get("uid"):
            await self.writer.bind(volume, claim)  # finish or repair the binding
            return
        await self._lost(claim, "Two claims are bound to the same volume, this one is bound "
                                "incorrectly")

    async def _lost(self, claim: Obj, message: str) -> None:
        if (claim.get("status") or {}).get("phase") != "Lost":
            self.events.record(claim, WARNING, "ClaimLost", message)
        await self.writer.claim_phase(claim, "Lost")

    # --- volumes -----------------------------------------------------------------------------

    async def sync_volume(self, volume: Obj) -> None:
        spec = volume.get("spec") or {}
        ref = spec.get("claimRef")
        if ref is None or not ref.get("uid"):
            if (volume.get("status") or {}).get("phase") != "Available":
                await self.writer.volume_phase(volume, "Available")
            return
        claim = await self._claim_of(ref)
        if claim is None:
            await self._released(volume)
            return
        claimed = (claim.get("spec") or {}).get("volumeName")
        if not claimed:
            self.queue.add(self.claims.key_of(claim))  # binding half done: the claim finishes
            return
        if claimed == volume["metadata"]["name"]:
            if (volume.get("status") or {}).get("phase") != "Bound":
                await self.writer.volume_phase(volume, "Bound")
            return
        anns = volume["metadata"].get("annotations") or {}
        if ANN_DYNAMICALLY_PROVISIONED in anns and spec.get(
                "persistentVolumeReclaimPolicy") == "Delete":
            await self._released(volume)  # provisioned for a claim that took another
        else:
            await self.writer.unbind_volume(volume)

    async def _claim_of(self, ref: Obj) -> Obj | None:
        """The claim a volume is bound to, if it is still that claim (same uid); the API
        server is asked before a claim missing from the cache is taken for deleted."""
        ns, name, uid = ref.get("namespace"), str(ref.get("name")), ref.get("uid")
        claim = self.claims.get_by_name(ns, name)
        if claim is None:
            try:
                claim = await self.api.get(PVCS, ns, name)
            except apierrors.ApiError as err:
                if err.code != 404:
                    raise
                return None
        return claim if claim["metadata"].get("uid") == uid else None

    async def _released(self, volume: Obj) -> None:
        """``reclaimVolume`` once the claim is gone."""
        phase = (volume.get("status") or {}).get("phase")
        if phase == "Failed":
            return
        if phase != "Released":
            volume = await self.writer.volume_phase(volume, "Released")
        policy = (volume.get("spec") or {}).get("persistentVolumeReclaimPolicy")
        provisioner = (volume["metadata"].get("annotations") or {}).get(
            ANN_DYNAMICALLY_PROVISIONED)
        if policy == "Recycle":
            await self.writer.volume_phase(volume, "Failed", event=(WARNING, "VolumeFailedRecycle"),
                                           message="No recycler plugin found for the volume!")
        elif policy == "Delete" and not provisioner:
            name = volume["metadata"]["name"]
            await self.writer.volume_phase(
                volume, "Failed", event=(WARNING, "VolumeFailedDelete"),
                message=f'error getting deleter volume plugin for volume "{name}": no '
                        "deletable volume plugin matched")
        # Retain: kept Released for an admin; Delete of a provisioned volume: its provisioner


def build(ctx: ControllerContext) -> PersistentVolumeController:
    return PersistentVolumeController(ctx)
