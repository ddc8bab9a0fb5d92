"""VolumeBinding: a pod goes only where its PersistentVolumeClaims can be served, as
kube-scheduler's plugin of that name.

- **PreFilter**: the pod's claims (``persistentVolumeClaim`` volumes, and ``<pod>-<volume>``
  for ephemeral ones) must exist and not be being deleted (else unschedulable until a
  claim event); a claim that is not bound and whose class binds ``Immediate`` makes the
  pod wait ("pod has unbound immediate PersistentVolumeClaims") for the persistentvolume
  controller.  Claims bound to a volume, and claims of a ``WaitForFirstConsumer`` class
  still to bind, are kept for Filter.  No claims: skipped.
- **Filter**: a bound claim's volume must admit the node by its node affinity ("volume
  node affinity conflict"); a claim to bind needs a free matching volume the node may use
  (``volumematch``, one volume per claim), or a class with a provisioner whose
  ``allowedTopologies`` admit the node ("didn't find available persistent volumes to
  bind").
- **PreBind** (run as a Bind that returns Skip, ahead of DefaultBinder, since this
  framework has no PreBind point): each claim to bind is annotated
  ``volume.kubernetes.io/selected-node: <node>``, then the bind waits (at most
  ``bindTimeoutSeconds``, 600 as Kubernetes) until the persistentvolume controller has
  bound them, so the pod reaches its node with its volumes ready.  Where Kubernetes' plugin
  writes a chosen static volume's ``claimRef`` itself, here the controller picks that
  volume, among those admitting the selected node; a claim no volume serves there is
  provisioned on that node.

Claim, volume and class events move pods this plugin rejected back to the active queue.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from jetkube.schemas.objects import Obj
from jetkube.schemas.storageutil import ANN_SELECTED_NODE
from jetkube.schemas.volumematch import (
    claim_class,
    find_matching_volume,
    node_affinity_matches,
    pod_claim_names,
)
from jetkube.services.machinery.apimachinery import apierrors, object_key
from jetkube.services.machinery.client import Informer

from ..cluster_events import NODE_ADD, NODE_UPDATE_LABEL, ClusterEvent
from ..framework import SKIP, Code, CycleState, Handle, Status
from ..nodeinfo import NodeInfo
from ..podinfo import PodInfo

NAME = "VolumeBinding"
PVCS, PVS = "persistentvolumeclaims", "persistentvolumes"
_STATE = "VolumeBinding/claims"
NO_PROVISIONER = "kubernetes.io/no-provisioner"
REASON_BIND_CONFLICT = "node(s) didn't find available persistent volumes to bind"
REASON_NODE_CONFLICT = "node(s) had volume node affinity conflict"
REASON_UNBOUND_IMMEDIATE = "pod has unbound immediate PersistentVolumeClaims"
DEFAULT_BIND_TIMEOUT_SECONDS = 600.0


@dataclass
class _PodVolumes:
    bound: list[Obj] = field(default_factory=list)  # the volumes of bound claims
    to_bind: list[Obj] = field(default_factory=list)  # claims of first-consumer classes


def _is_bound(claim: Obj) -> bool:
    return bool((claim.get("spec") or {}).get("volumeName"))


def _topology_allows(cls: Obj, labels: dict[str, str]) -> bool:
    terms = cls.get("allowedTopologies") or []
    return not terms or any(
        all(labels.get(str(e.get("key"))) in (e.get("values") or [])
            for e in t.get("matchLabelExpressions") or ())
        for t in terms)


class VolumeBinding:
    name = NAME

    def __init__(self, args: dict[str, Any], handle: Handle) -> None:
        self.handle = handle
        self.bind_timeout = float(args.get("bindTimeoutSeconds", DEFAULT_BIND_TIMEOUT_SECONDS))
        informers = handle.informers
        self.claims: Informer[Obj] = informers.informer(PVCS)
        self.volumes: Informer[Obj] = informers.informer(PVS)
        self.classes: Informer[Obj] = informers.informer("storageclasses")
        self._waiters: dict[str, list[asyncio.Future[None]]] = {}
        self.claims.add_event_handler(on_add=self._claim_changed,
                                      on_update=lambda _o, n: self._claim_changed(n))

    # --- PreFilter / Filter --------------------------------------------------------------

    def pre_filter(self, state: CycleState, pod: PodInfo) -> Status | None:
        names = pod_claim_names(pod.pod)
        if not names:
            return SKIP
        found = _PodVolumes()
        for name in names:
            claim = self.claims.get(object_key(PVCS, pod.namespace, name))
            if claim is None:
                return Status.unschedulable(NAME, f'persistentvolumeclaim "{name}" not found',
                                            resolvable=False)
            if claim["metadata"].get("deletionTimestamp"):
                return Status.unschedulable(
                    NAME, f'persistentvolumeclaim "{name}" is being deleted', resolvable=False)
            if _is_bound(claim):
                volume = self.volumes.get(object_key(PVS, None, claim["spec"]["volumeName"]))
                if volume is None:
                    return Status.unschedulable(NAME, "pvc(s) bound to non-existent pv(s)",
                                                resolvable=False)
                found.bound.append(volume)
                continue
            cls = self.classes.get(object_key("storageclasses", None, claim_class(claim)))
            if cls is None or cls.get("volumeBindingMode") != "WaitForFirstConsumer":
                return Status.unschedulable(NAME, REASON_UNBOUND_IMMEDIATE, resolvable=False)
            found.to_bind.append(claim)
        state.write(_STATE, found)
        return None

    def filter(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> Status | None:
        found: _PodVolumes | None = state.read(_STATE)
        if found is None:
            return None
        where = (node.name, node.labels)
        for bound in found.bound:
            if not node_affinity_matches(bound, node.name, node.labels):
                return Status.unschedulable(NAME, REASON_NODE_CONFLICT, resolvable=False)
        chosen: set[str] = set()
        volumes = self.volumes.list() if found.to_bind else []
        for claim in found.to_bind:
            volume = find_matching_volume(claim, volumes, node=where, delay_binding=True,
                                          excluded=frozenset(chosen))
            if volume is not None:
                chosen.add(str(volume["metadata"]["name"]))
                continue
            cls = self.classes.get(object_key("storageclasses", None, claim_class(claim))) or {}
            if cls.get("provisioner") in (None, "", NO_PROVISIONER) or not _topology_allows(
                    cls, node.labels):
                return Status.unschedulable(NAME, REASON_BIND_CONFLICT)
        return None

    # --- PreBind -------------------------------------------------------------------------

    async def bind(self, state: CycleState, pod: PodInfo, node_name: str) -> Status | None:
        """PreBind: select the node on the claims to bind, wait until they are bound, then
        Skip so that the next bind plugin binds the pod."""
        found: _PodVolumes | None = state.read(_STATE)
        if found is None or not found.to_bind:
            return SKIP
        keys = [self.claims.key_of(c) for c in found.to_bind]
        waits = [self._bound_future(k) for k in keys]
        try:
            for claim in found.to_bind:
                md = claim["metadata"]
                if (md.get("annotations") or {}).get(ANN_SELECTED_NODE) != node_name:
                    await self.handle.api.patch(PVCS, pod.namespace, str(md["name"]), {
                        "metadata": {"annotations": {ANN_SELECTED_NODE: node_name}}})
            for k, fut in zip(keys, waits, strict=True):
                now = self.claims.get(k)
                if now is not None and _is_bound(now) and not fut.done():
                    fut.set_result(None)
            await asyncio.wait_for(asyncio.gather(*waits), self.bind_timeout)
        except apierrors.ApiError as err:
            return Status.error(NAME, f"selecting the node on the claims failed: {err}")
        except TimeoutError:
            return Status(Code.ERROR, ("binding volumes: timed out waiting for the "
                                       "condition",), NAME)
        finally:
            for k, fut in zip(keys, waits, strict=True):
                self._forget(k, fut)
        return SKIP

    def _bound_future(self, key: str) -> asyncio.Future[None]:
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(key, []).append(fut)
        return fut

    def _forget(self, key: str, fut: asyncio.Future[None]) -> None:
        waiters = self._waiters.get(key, [])
        if fut in waiters:
            waiters.remove(fut)
        if not waiters:
            self._waiters.pop(key, None)
        if not fut.done():
            fut.cancel()

    def _claim_changed(self, claim: Obj) -> None:
        if not _is_bound(claim):
            return
        for fut in self._waiters.get(self.claims.key_of(claim), ()):
            if not fut.done():
                fut.set_result(None)

    def events_to_register(self) -> Iterable[ClusterEvent]:
        return (ClusterEvent("PersistentVolumeClaim", "Add"),
                ClusterEvent("PersistentVolumeClaim", "Update"),
                ClusterEvent("PersistentVolume", "Add"),
                ClusterEvent("PersistentVolume", "Update"),
                ClusterEvent("StorageClass", "Add"),
                ClusterEvent("StorageClass", "Update"),
                NODE_ADD, NODE_UPDATE_LABEL)
