"""The writes of the persistentvolume controller, as Kubernetes' ``pv_controller.go``
makes them: each one a compare-and-swap update of the object as the cache held it (a
stale copy is a 409, and the key is synced again from fresher caches).

- ``bind``: the volume's ``claimRef`` (annotated ``pv.kubernetes.io/bound-by-controller``
  when the controller chose it), the volume's phase ``Bound``, the claim's
  ``spec.volumeName`` (annotated ``pv.kubernetes.io/bind-completed``, and bound-by-controller
  when the controller chose the volume), then the claim's status: ``Bound`` with the
  volume's access modes and capacity.  Each step is skipped when already done, so a bind
  interrupted half way is finished by the next sync.
- ``unbind_volume``: a volume the controller bound to a claim that went elsewhere is
  made ``Available`` again (a pre-bound volume, bound by its user, keeps its claimRef
  name and loses only the uid).
- ``volume_phase`` / ``claim_phase``: status writes, with ``lastPhaseTransitionTime``
  on a volume and an event when a reason is given.
"""

from __future__ import annotations

import copy

from jetkube.schemas import format_time
from jetkube.schemas.objects import Obj
from jetkube.schemas.storageutil import (
    ANN_BIND_COMPLETED,
    ANN_BOUND_BY_CONTROLLER,
)
from jetkube.schemas.volumematch import is_volume_bound_to_claim

from ..machinery.client import ApiClient, EventRecorder
from ..machinery.runtime import Clock

PVS, PVCS = "persistentvolumes", "persistentvolumeclaims"


def claim_ref(claim: Obj) -> Obj:
    """``reference.GetReference`` of a claim: what a volume's ``claimRef`` holds."""
    md = claim["metadata"]
    return {"kind": "PersistentVolumeClaim", "namespace": md.get("namespace"),
            "name": md.get("name"), "uid": md.get("uid"), "apiVersion": "v1",
            "resourceVersion": md.get("resourceVersion")}


def _annotate(obj: Obj, key: str) -> None:
    md = obj["metadata"]
    md["annotations"] = {**(md.get("annotations") or {}), key: "yes"}


class VolumeWriter:
    def __init__(self, api: ApiClient, events: EventRecorder, clock: Clock) -> None:
        self.api, self.events, self.clock = api, events, clock

    async def bind(self, volume: Obj, claim: Obj) -> None:
        """Bind ``volume`` and ``claim`` to each other, finishing whatever is not done."""
        volume = await self._bind_volume(volume, claim)
        volume = await self.volume_phase(volume, "Bound")
        claim = await self._bind_claim(claim, volume)
        vspec = volume.get("spec") or {}
        await self.claim_phase(claim, "Bound", access_modes=vspec.get("accessModes"),
                               capacity=vspec.get("capacity"))

    async def _bind_volume(self, volume: Obj, claim: Obj) -> Obj:
        ref = (volume.get("spec") or {}).get("claimRef")
        if is_volume_bound_to_claim(volume, claim) and ref and ref.get("uid"):
            return volume
        new = copy.deepcopy(volume)
        new["spec"]["claimRef"] = claim_ref(claim)
        if ref is None:
            _annotate(new, ANN_BOUND_BY_CONTROLLER)
        out: Obj = await self.api.update(PVS, None, volume["metadata"]["name"], new)
        return out

    async def _bind_claim(self, claim: Obj, volume: Obj) -> Obj:
        md, spec = claim["metadata"], claim.get("spec") or {}
        name = volume["metadata"]["name"]
        anns = md.get("annotations") or {}
        if spec.get("volumeName") == name and ANN_BIND_COMPLETED in anns:
            return claim
        new = copy.deepcopy(claim)
        if spec.get("volumeName") != name:
            new["spec"]["volumeName"] = name
            _annotate(new, ANN_BOUND_BY_CONTROLLER)
        _annotate(new, ANN_BIND_COMPLETED)
        out: Obj = await self.api.update(PVCS, md.get("namespace"), md["name"], new)
        return out

    async def unbind_volume(self, volume: Obj) -> Obj:
        """``unbindVolume``: give a volume bound to a claim that is bound elsewhere back."""
        new = copy.deepcopy(volume)
        anns = new["metadata"].get("annotations") or {}
        if ANN_BOUND_BY_CONTROLLER in anns:
            new["spec"].pop("claimRef", None)
            new["metadata"]["annotations"] = {k: v for k, v in anns.items()
                                              if k != ANN_BOUND_BY_CONTROLLER} or None
            if new["metadata"]["annotations"] is None:
                del new["metadata"]["annotations"]
        else:  # pre-bound by its user: it stays meant for that claim name
            new["spec"]["claimRef"] = {k: v for k, v in new["spec"]["claimRef"].items()
                                       if k not in ("uid", "resourceVersion")}
        out: Obj = await self.api.update(PVS, None, volume["metadata"]["name"], new)
        return await self.volume_phase(out, "Available")

    async def volume_phase(self, volume: Obj, phase: str, *, event: tuple[str, str] | None = None,
                           message: str = "") -> Obj:
        """``updateVolumePhase`` (with an event when ``event`` = (type, reason) is given)."""
        status = volume.get("status") or {}
        if event is not None:
            self.events.record(volume, event[0], event[1], message)
        if status.get("phase") == phase and (status.get("message") or "") == message:
            return volume
        new = copy.deepcopy(volume)
        new["status"] = {"phase": phase, "lastPhaseTransitionTime": format_time(self.clock.now())}
        if message:
            new["status"]["message"] = message
        if event is not None:
            new["status"]["reason"] = event[1]
        out: Obj = await self.api.update_status(PVS, None, volume["metadata"]["name"], new)
        return out

    async def claim_phase(self, claim: Obj, phase: str, *, access_modes: list[str] | None = None,
                          capacity: Obj | None = None) -> Obj:
        """``updateClaimStatus``: the phase, and the volume's modes and capacity once
        bound (none before)."""
        status = dict(claim.get("status") or {})
        want = dict(status, phase=phase)
        for key, value in (("accessModes", access_modes), ("capacity", capacity)):
            if value:
                want[key] = value
            elif phase != "Bound":
                want.pop(key, None)
        if want == status:
            return claim
        new = copy.deepcopy(claim)
        new["status"] = want
        md = claim["metadata"]
        out: Obj = await self.api.update_status(PVCS, md.get("namespace"), md["name"], new)
        return out
