"""The built-in local-path provisioner (``jetkube.io/local-path``): dynamic provisioning
of directories on a node, run in the controller-manager as an external provisioner
(Kubernetes' ``external-provisioner`` sidecar around rancher's local-path provisioner).

**Provision** (``shouldProvision`` then ``Provision``).  A claim the persistentvolume
controller annotated ``volume.kubernetes.io/storage-provisioner: jetkube.io/local-path``,
still without a volume, whose class names this provisioner, gets the volume
``pvc-<claim uid>``: capacity, access modes and volume mode as the claim asks, the class's
reclaim policy and mount options, ``claimRef`` to the claim (so the binder binds the two),
node affinity ``kubernetes.io/hostname In [node]``, and the source
``csi: {driver: jetkube.io/local-path, volumeHandle: <volume name>}``.  The node: the one
the scheduler chose (``volume.kubernetes.io/selected-node``, with ``WaitForFirstConsumer``);
with ``Immediate`` binding, a Ready schedulable node allowed by the class's
``allowedTopologies``, the one with the fewest local-path volumes first.

**Where the data lives, and who makes and removes it.**  This controller may run on
another machine than the node, so it never touches a disk.  The node agent owns the
directory: it creates ``<its data dir>/local-path/<volume name>`` when it first mounts the
volume into a pod (pvmounts.py), and removes it when the volume is deleted.  The node
agent puts the finalizer ``jetkube.io/local-path-data`` on the volume before it creates
the directory, so a deleted volume stays Terminating until its node agent has removed the
directory and then the finalizer; a volume never mounted has no data and no finalizer.
(The rancher provisioner runs helper pods for both steps; here the node agent is the
helper.)

**Expand** (the external resizer's part).  A bound claim of a class with
``allowVolumeExpansion: true`` whose storage request grows gets its volume's capacity
raised to it (a directory has no size to grow); the binder copies it into the claim's
status.

**Delete** (``shouldDelete``).  A volume this provisioner made, ``Released`` with the
reclaim policy ``Delete``, is deleted.  A deleted volume whose node no longer exists keeps
no data anywhere: its finalizer is removed here.
"""

from __future__ import annotations

import copy
import logging

from jetkube.schemas.objects import Obj, condition_is_true
from jetkube.schemas.quantity import compare_quantities
from jetkube.schemas.storageutil import (
    ANN_DYNAMICALLY_PROVISIONED,
    ANN_SELECTED_NODE,
    ANN_STORAGE_PROVISIONER,
    LOCAL_PATH_FINALIZER,
    LOCAL_PATH_PROVISIONER,
)
from jetkube.schemas.volumematch import claim_class, claim_request, pinned_node, volume_capacity

from ..machinery.apimachinery import apierrors, namespaced_name_of, object_key, parse_key
from ..machinery.client import NORMAL, WARNING, Controller, IndexFunc, Requeue, WorkQueue
from .context import ControllerContext
from .pvprotection import set_finalizer

log = logging.getLogger(__name__)

PVS, PVCS = "persistentvolumes", "persistentvolumeclaims"
BY_NODE = "local-path/volumes-by-node"
NO_NODE_RETRY_SECONDS = 5.0
"""How soon a claim with no node to provision on is tried again."""


def _ours(volume: Obj) -> bool:
    anns = volume["metadata"].get("annotations") or {}
    return anns.get(ANN_DYNAMICALLY_PROVISIONED) == LOCAL_PATH_PROVISIONER


def _volumes_by_node(volume: Obj) -> list[str]:
    node = pinned_node(volume) if _ours(volume) else None
    return [node] if node else []


def _allowed(cls: Obj, labels: dict[str, str]) -> bool:
    """The node's labels satisfy one of the class's ``allowedTopologies`` terms (any node
    when it has none)."""
    terms = cls.get("allowedTopologies") or []
    return not terms or any(
        all(labels.get(str(e.get("key"))) in (e.get("values") or [])
            for e in t.get("matchLabelExpressions") or ())
        for t in terms)


class LocalPathProvisioner:
    name = "local-path-provisioner"

    def __init__(self, ctx: ControllerContext) -> None:
        rt = ctx.rt
        self.api, self.events = rt.api, rt.events
        self.claims = rt.informers.informer(PVCS)
        self.volumes = rt.informers.informer(PVS)
        self.classes = rt.informers.informer("storageclasses")
        self.nodes = rt.informers.informer("nodes")
        index: IndexFunc[Obj] = _volumes_by_node
        self.volumes.ensure_indexer(BY_NODE, index)
        self.queue: WorkQueue[str] = rt.work_queue(self.name)
        self.claims.add_event_handler(on_add=self._claim, on_update=lambda _o, n: self._claim(n))
        self.volumes.add_event_handler(on_add=self._volume,
                                       on_update=lambda _o, n: self._volume(n))
        self.nodes.add_event_handler(on_delete=self._node_gone)
        self.controller = Controller(self.name, self.queue, self.reconcile,
                                     ctx.options.workers(self.name, 2))

    def _claim(self, claim: Obj) -> None:
        self.queue.add(self.claims.key_of(claim))

    def _volume(self, volume: Obj) -> None:
        if _ours(volume):
            self.queue.add(self.volumes.key_of(volume))

    def _node_gone(self, node: Obj) -> None:
        for key in self.volumes.index_keys(BY_NODE, node["metadata"]["name"]):
            self.queue.add(key)

    def start(self) -> None:
        self.controller.start()

    async def stop(self, grace_seconds: float | None = None) -> None:
        await self.controller.stop(grace_seconds)

    async def reconcile(self, key: str) -> Requeue | None:
        if parse_key(key).resource == PVS:
            volume = self.volumes.get(key)
            if volume is not None and _ours(volume):
                await self._sync_volume(volume)
            return None
        claim = self.claims.get(key)
        if claim is None:
            return None
        return await self._sync_claim(claim)

    # --- provisioning ----------------------------------------------------------------------

    async def _sync_claim(self, claim: Obj) -> Requeue | None:
        md, spec = claim["metadata"], claim.get("spec") or {}
        anns = md.get("annotations") or {}
        if spec.get("volumeName"):
            await self._expand(claim, str(spec["volumeName"]))
            return None
        if (md.get("deletionTimestamp")
                or anns.get(ANN_STORAGE_PROVISIONER) != LOCAL_PATH_PROVISIONER):
            return None
        cls = self.classes.get_by_name(None, claim_class(claim))
        if cls is None or cls.get("provisioner") != LOCAL_PATH_PROVISIONER:
            return None
        name = f"pvc-{md['uid']}"
        if self.volumes.get(object_key(PVS, None, name)) is not None:
            return None  # made already: the binder binds it
        node = anns.get(ANN_SELECTED_NODE)
        if not node:
            if cls.get("volumeBindingMode") == "WaitForFirstConsumer":
                return None  # the scheduler chooses the node
            node = self._choose_node(cls)
        elif not _allowed(cls, self._labels(node)):
            self.events.record(claim, WARNING, "ProvisioningFailed",
                               f'failed to provision volume with StorageClass '
                               f'"{cls["metadata"]["name"]}": node "{node}" is not in the '
                               "class's allowedTopologies")
            return None
        if node is None:
            self.events.record(claim, WARNING, "ProvisioningFailed",
                               f'failed to provision volume with StorageClass '
                               f'"{cls["metadata"]["name"]}": no Ready node to put it on')
            return Requeue(after=NO_NODE_RETRY_SECONDS)
        self.events.record(claim, NORMAL, "Provisioning",
                           f'External provisioner is provisioning volume for claim '
                           f'"{namespaced_name_of(claim)}"')
        try:
            await self.api.create(PVS, None, self._volume_for(claim, cls, name, node))
        except apierrors.ApiError as err:
            if err.reason != "AlreadyExists":
                raise
        log.info("provisioned %s for claim %s on node %s", name, namespaced_name_of(claim), node)
        self.events.record(claim, NORMAL, "ProvisioningSucceeded",
                           f"Successfully provisioned volume {name}")
        return None

    def _labels(self, node: str) -> dict[str, str]:
        obj = self.nodes.get_by_name(None, node)
        labels = ((obj or {}).get("metadata") or {}).get("labels")
        return dict(labels) if labels else {"kubernetes.io/hostname": node}

    def _choose_node(self, cls: Obj) -> str | None:
        """For ``Immediate`` binding: a Ready, schedulable node the class allows, the one
        holding the fewest local-path volumes first, then by name."""
        candidates = [n for n in self.nodes.list()
                      if condition_is_true(n, "Ready")
                      and not (n.get("spec") or {}).get("unschedulable")
                      and _allowed(cls, n["metadata"].get("labels") or {})]
        if not candidates:
            return None
        names = [str(n["metadata"]["name"]) for n in candidates]
        return min(names, key=lambda n: (len(self.volumes.index_keys(BY_NODE, n)), n))

    @staticmethod
    def _volume_for(claim: Obj, cls: Obj, name: str, node: str) -> Obj:
        md, spec = claim["metadata"], claim.get("spec") or {}
        pv_spec: Obj = {
            "capacity": {"storage": claim_request(claim)},
            "accessModes": list(spec.get("accessModes") or ["ReadWriteOnce"]),
            "persistentVolumeReclaimPolicy": cls.get("reclaimPolicy") or "Delete",
            "storageClassName": cls["metadata"]["name"],
            "volumeMode": spec.get("volumeMode") or "Filesystem",
            "claimRef": {"kind": "PersistentVolumeClaim", "apiVersion": "v1",
                         "namespace": md.get("namespace"), "name": md["name"],
                         "uid": md["uid"], "resourceVersion": md.get("resourceVersion")},
            "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                {"key": "kubernetes.io/hostname", "operator": "In", "values": [node]}]}]}},
            "csi": {"driver": LOCAL_PATH_PROVISIONER, "volumeHandle": name},
        }
        if cls.get("mountOptions"):
            pv_spec["mountOptions"] = list(cls["mountOptions"])
        return {"apiVersion": "v1", "kind": "PersistentVolume",
                "metadata": {"name": name,
                             "annotations": {ANN_DYNAMICALLY_PROVISIONED: LOCAL_PATH_PROVISIONER}},
                "spec": pv_spec}

    # --- expanding ---------------------------------------------------------------------------

    async def _expand(self, claim: Obj, volume_name: str) -> None:
        """The external resizer's part: a bound claim asking for more than its local-path
        volume has (the API server let it grow: its class allows expansion) gets a volume
        of that size.  A directory has no size to grow, so the new capacity is all there
        is to it; the binder copies it into the claim's status."""
        volume = self.volumes.get(object_key(PVS, None, volume_name))
        if volume is None or not _ours(volume):
            return
        want = claim_request(claim)
        if compare_quantities(want, volume_capacity(volume)) <= 0:
            return
        new = copy.deepcopy(volume)
        new["spec"]["capacity"] = {**(new["spec"].get("capacity") or {}), "storage": want}
        try:
            await self.api.update(PVS, None, volume_name, new)
        except apierrors.ApiError as err:
            if err.code == 409:
                raise Requeue(reason="conflict") from None
            raise
        self.events.record(claim, NORMAL, "VolumeResizeSuccessful",
                           f'resize volume "{volume_name}" by resizer '
                           f'"{LOCAL_PATH_PROVISIONER}" succeeded')

    # --- deleting ----------------------------------------------------------------------------

    async def _sync_volume(self, volume: Obj) -> None:
        md, spec = volume["metadata"], volume.get("spec") or {}
        name = str(md["name"])
        if md.get("deletionTimestamp"):
            await self._forget_if_node_gone(volume)
            return
        if ((volume.get("status") or {}).get("phase") == "Released"
                and spec.get("persistentVolumeReclaimPolicy") == "Delete"):
            try:
                await self.api.delete(PVS, None, name)
            except apierrors.ApiError as err:
                if err.code != 404:
                    raise
            log.info("deleted released volume %s (its node agent removes the data)", name)

    async def _forget_if_node_gone(self, volume: Obj) -> None:
        """A volume whose node is gone has no data left to remove: drop its finalizer."""
        md = volume["metadata"]
        node = pinned_node(volume)
        if LOCAL_PATH_FINALIZER not in (md.get("finalizers") or ()) or not node:
            return
        if self.nodes.get_by_name(None, node) is not None:
            return
        try:
            await self.api.get("nodes", None, node)
            return  # the cache is behind
        except apierrors.ApiError as err:
            if err.code != 404:
                raise
        if await set_finalizer(self.api, PVS, volume, LOCAL_PATH_FINALIZER, False):
                log.info("volume %s: node %s is gone, nothing to clean up", md["name"], node)


def build(ctx: ControllerContext) -> LocalPathProvisioner:
    return LocalPathProvisioner(ctx)
