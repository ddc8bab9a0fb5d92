"""The pv-protection controller (Kubernetes' ``pvprotection``): a PersistentVolume is not
removed while a claim is bound to it.

The ``kubernetes.io/pv-protection`` finalizer is set on every volume (by the
StorageObjectInUseProtection admission plugin, and here on any volume without it that is
not being deleted).  A volume being deleted keeps it while its phase is ``Bound``; once
the volume is no longer bound (its claim was deleted and the binder released it) the
finalizer is removed, and the volume goes (or waits for its other finalizers).

``set_finalizer`` is shared with the pvc-protection controller.
"""

from __future__ import annotations

import copy
import logging

from jetkube.schemas.objects import Obj
from jetkube.schemas.storageutil import PV_PROTECTION

from ..machinery.apimachinery import apierrors
from ..machinery.client import ApiClient, Controller, Requeue, WorkQueue, enqueue_on_change
from .context import ControllerContext

log = logging.getLogger(__name__)

PVS = "persistentvolumes"


async def set_finalizer(api: ApiClient, resource: str, obj: Obj, finalizer: str,
                        present: bool) -> bool:
    """Add (``present``) or remove ``finalizer`` with a compare-and-swap update of ``obj``
    as cached; a stale copy (409) asks for another sync.  True if it wrote."""
    md = obj["metadata"]
    have = list(md.get("finalizers") or [])
    if (finalizer in have) == present:
        return False
    new = copy.deepcopy(obj)
    want = [*have, finalizer] if present else [f for f in have if f != finalizer]
    if want:
        new["metadata"]["finalizers"] = want
    else:
        new["metadata"].pop("finalizers", None)
    try:
        await api.update(resource, md.get("namespace"), str(md["name"]), new)
    except apierrors.ApiError as err:
        if err.code == 404:
            return False
        if err.code == 409:
            raise Requeue(reason="conflict") from None
        raise
    return True


class PVProtectionController:
    name = "pv-protection"

    def __init__(self, ctx: ControllerContext) -> None:
        rt = ctx.rt
        self.api = rt.api
        self.volumes = rt.informers.informer(PVS)
        self.queue: WorkQueue[str] = rt.work_queue(self.name)
        enqueue_on_change(self.volumes, self.queue)
        self.controller = Controller(self.name, self.queue, self.reconcile,
                                     ctx.options.workers(self.name, 1))

    def start(self) -> None:
        self.controller.start()

    async def stop(self, grace_seconds: float | None = None) -> None:
        await self.controller.stop(grace_seconds)

    async def reconcile(self, key: str) -> Requeue | None:
        volume = self.volumes.get(key)
        if volume is None:
            return None
        if not volume["metadata"].get("deletionTimestamp"):
            await set_finalizer(self.api, PVS, volume, PV_PROTECTION, True)
        elif (volume.get("status") or {}).get("phase") != "Bound" and await set_finalizer(
                self.api, PVS, volume, PV_PROTECTION, False):
            log.info("volume %s is not bound: its protection is removed",
                     volume["metadata"]["name"])
        return None


def build(ctx: ControllerContext) -> PVProtectionController:
    return PVProtectionController(ctx)
