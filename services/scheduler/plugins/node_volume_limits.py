"""NodeVolumeLimits: a node takes no more volumes of a CSI driver than it can attach, as
kube-scheduler's CSI volume-limits plugin (``nodevolumelimits``).

The limit of a driver on a node is ``status.allocatable["attachable-volumes-csi-<driver>"]``
(the form the kubelet reported limits in before CSINode objects; jetkube serves no
CSINode), and a node without one has no limit for that driver.  **PreFilter** reads the
pod's claims once (none: Skip).  **Filter**: the unique volumes of each driver the pod
would add (claims bound to a CSI volume count by the volume's handle; a claim still to
bind counts once under its class's provisioner, the way kube-scheduler counts an unbound
claim of a ``WaitForFirstConsumer`` class) plus the unique volumes the node's pods
already use must not exceed it: "node(s) exceed max volume count".  A volume two pods
share counts once.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from jetkube.schemas.objects import Obj
from jetkube.schemas.volumematch import claim_class, pod_claim_names
from jetkube.services.machinery.apimachinery import object_key
from jetkube.services.machinery.client import Informer

from ..cluster_events import ClusterEvent
from ..framework import SKIP, CycleState, Handle, Status
from ..nodeinfo import NodeInfo
from ..podinfo import PodInfo

NAME = "NodeVolumeLimits"
PVCS, PVS = "persistentvolumeclaims", "persistentvolumes"
LIMIT_PREFIX = "attachable-volumes-csi-"
REASON_MAX_VOLUME_COUNT = "node(s) exceed max volume count"
_STATE = "NodeVolumeLimits/volumes"


class NodeVolumeLimits:
    name = NAME

    def __init__(self, args: dict[str, Any], handle: Handle) -> None:
        informers = handle.informers
        self.claims: Informer[Obj] = informers.informer(PVCS)
        self.volumes: Informer[Obj] = informers.informer(PVS)
        self.classes: Informer[Obj] = informers.informer("storageclasses")

    def volumes_of(self, pod: Obj, namespace: str) -> dict[str, set[str]]:
        """driver -> unique volume handles of the pod's claims (unbound: a placeholder)."""
        out: dict[str, set[str]] = {}
        for name in pod_claim_names(pod):
            claim = self.claims.get(object_key(PVCS, namespace, name))
            if claim is None:
                continue  # VolumeBinding refuses the pod; nothing to count here
            volume_name = (claim.get("spec") or {}).get("volumeName")
            if volume_name:
                volume = self.volumes.get(object_key(PVS, None, str(volume_name))) or {}
                csi = (volume.get("spec") or {}).get("csi") or {}
                if csi.get("driver"):
                    out.setdefault(str(csi["driver"]), set()).add(
                        str(csi.get("volumeHandle") or volume_name))
                continue
            cls = self.classes.get(object_key("storageclasses", None, claim_class(claim))) or {}
            if cls.get("provisioner"):  # a volume to be provisioned for this claim
                out.setdefault(str(cls["provisioner"]), set()).add(f"{namespace}/{name}")
        return out

    def pre_filter(self, state: CycleState, pod: PodInfo) -> Status | None:
        """The pod's volumes, once per cycle; a pod without claims skips Filter."""
        new = self.volumes_of(pod.pod, pod.namespace)
        if not new:
            return SKIP
        state.write(_STATE, new)
        return None

    def filter(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> Status | None:
        new: dict[str, set[str]] | None = state.read(_STATE)
        if not new or node.node is None:
            return None
        allocatable = (node.node.get("status") or {}).get("allocatable") or {}
        limits: dict[str, int] = {}
        for driver in new:
            if (n := _count(allocatable.get(LIMIT_PREFIX + driver))) is not None:
                limits[driver] = n
        if not limits:
            return None
        used: dict[str, set[str]] = {}
        for other in node.pods.values():
            for driver, handles in self.volumes_of(other.pod, other.namespace).items():
                if driver in limits:
                    used.setdefault(driver, set()).update(handles)
        for driver, limit in limits.items():
            if len(used.get(driver, set()) | new[driver]) > limit:
                return Status.unschedulable(NAME, REASON_MAX_VOLUME_COUNT)
        return None

    def events_to_register(self) -> Iterable[ClusterEvent]:
        return (ClusterEvent("Node", "Add"), ClusterEvent("Node", "Update"),
                ClusterEvent("Pod", "Delete"),
                ClusterEvent("PersistentVolumeClaim", "Add"),
                ClusterEvent("PersistentVolume", "Add"))


def _count(value: Any) -> int | None:
    try:
        return int(str(value)) if value is not None else None
    except ValueError:
        return None


__all__ = ["LIMIT_PREFIX", "NAME", "REASON_MAX_VOLUME_COUNT", "NodeVolumeLimits"]
