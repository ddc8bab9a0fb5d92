"""A StatefulSet's PersistentVolumeClaims: one per ``volumeClaimTemplates`` entry and
ordinal, ``<template>-<set>-<ordinal>`` (Kubernetes' ``StatefulPodControl`` claim half).

- **Created** before the pod that mounts them, labelled with the template's labels and
  the set's ``matchLabels``; one that exists is reused (its data outlives the pod).  A
  claim still being deleted blocks the pod's creation (the sync is retried).
- **Retention** (``persistentVolumeClaimRetentionPolicy``, Kubernetes'
  ``updateClaimOwnerRefForSetAndPod``) through ownerReferences, so the garbage collector
  does the deleting: ``whenDeleted: Delete`` makes the set an owner of its claims (they go
  with the set); ``whenScaled: Delete`` makes a condemned pod (ordinal beyond
  ``replicas``) the owner of its claims just before the pod is deleted (they go with
  it).  ``Retain`` removes those references again.
- **Stale claims**: a claim owned by an earlier pod of the same name (being scaled away)
  holds back the new pod until the garbage collector has removed it.
"""

from __future__ import annotations

import copy

from jetkube.schemas.objects import Obj, OwnerReferenceDict

from ..machinery.apimachinery import apierrors
from ..machinery.client import NORMAL, Informer, Requeue
from ..machinery.service import ServiceRuntime
from .replicaset_pods import deleting, meta, spec, uid
from .statefulset_pods import claims_for, in_ordinal_range, ordinal_of

RESOURCE = "persistentvolumeclaims"


def _policy(sts: Obj) -> tuple[str, str]:
    p = spec(sts).get("persistentVolumeClaimRetentionPolicy") or {}
    return str(p.get("whenDeleted") or "Retain"), str(p.get("whenScaled") or "Retain")


def _ref(owner: Obj, api_version: str, kind: str) -> OwnerReferenceDict:
    return {"apiVersion": api_version, "kind": kind, "name": str(meta(owner).get("name")),
            "uid": uid(owner)}


def _with(refs: list[OwnerReferenceDict], owner: Obj, api_version: str, kind: str
          ) -> list[OwnerReferenceDict]:
    if any(r.get("uid") == uid(owner) for r in refs):
        return refs
    return [*refs, _ref(owner, api_version, kind)]


def _without(refs: list[OwnerReferenceDict], owner: Obj) -> list[OwnerReferenceDict]:
    return [r for r in refs if r.get("uid") != uid(owner)]


def claim_owner_refs(refs: list[OwnerReferenceDict], sts: Obj, pod: Obj
                     ) -> list[OwnerReferenceDict]:
    """The claim's ownerReferences as the set's retention policy wants them for ``pod``."""
    when_deleted, when_scaled = _policy(sts)
    scaled_down = not in_ordinal_range(sts, pod)
    own_by_set = when_deleted == "Delete" and not (when_scaled == "Delete" and scaled_down)
    own_by_pod = when_scaled == "Delete" and scaled_down and bool(uid(pod))
    refs = (_with(refs, sts, "apps/v1", "StatefulSet") if own_by_set
            else _without(refs, sts))
    return _with(refs, pod, "v1", "Pod") if own_by_pod else _without(refs, pod)


class ClaimControl:
    def __init__(self, rt: ServiceRuntime) -> None:
        self.rt, self.api = rt, rt.api
        self.claims: Informer[Obj] = rt.informers.informer(RESOURCE)

    def _cached(self, sts: Obj, pod: Obj) -> list[tuple[str, Obj | None]]:
        ns = meta(sts).get("namespace")
        return [(name, self.claims.get_by_name(ns, name))
                for name in claims_for(sts, ordinal_of(pod)).values()]

    def _new_claim(self, sts: Obj, template: Obj, name: str, pod: Obj) -> Obj:
        tmd = meta(template)
        labels = {**(tmd.get("labels") or {}),
                  **((spec(sts).get("selector") or {}).get("matchLabels") or {})}
        md: Obj = {"name": name, "namespace": meta(sts).get("namespace"), "labels": labels}
        if tmd.get("annotations"):
            md["annotations"] = dict(tmd["annotations"])
        refs = claim_owner_refs([], sts, pod)
        if refs:
            md["ownerReferences"] = refs
        return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": md,
                "spec": copy.deepcopy(spec(template))}

    async def create_missing(self, sts: Obj, pod: Obj) -> None:
        """Create the pod's claims that do not exist (``createPersistentVolumeClaims``)."""
        templates = {str(meta(t).get("name")): t
                     for t in spec(sts).get("volumeClaimTemplates") or ()}
        claims = claims_for(sts, ordinal_of(pod))
        for volume, name in claims.items():
            cached = self.claims.get_by_name(meta(sts).get("namespace"), name)
            if cached is not None:
                if deleting(cached):
                    raise Requeue(reason=f"pvc {name} is being deleted")
                continue
            try:
                await self.api.create(RESOURCE, meta(sts).get("namespace"),
                                      self._new_claim(sts, templates[volume], name, pod))
            except apierrors.ApiError as err:
                if err.code != 409:  # 409: the cache is behind, the claim is there
                    self.rt.events.record(sts, "Warning", "FailedCreate",
                                          f"create Claim {name} for Pod "
                                          f"{meta(pod).get('name')} in StatefulSet "
                                          f"{meta(sts).get('name')} failed error: {err}")
                    raise
                continue
            self.rt.events.record(sts, NORMAL, "SuccessfulCreate",
                                  f"create Claim {name} Pod {meta(pod).get('name')} in "
                                  f"StatefulSet {meta(sts).get('name')} success")

    async def claim_is_stale(self, sts: Obj, pod: Obj) -> bool:
        """A claim owned by another pod of this name (``PodClaimIsStale``)."""
        for _, claim in self._cached(sts, pod):
            if claim is not None and any(
                    r.get("kind") == "Pod" and r.get("name") == meta(pod).get("name")
                    and r.get("uid") != uid(pod) for r in meta(claim).get("ownerReferences") or ()):
                return True
        return False

    async def matches_retention(self, sts: Obj, pod: Obj) -> bool:
        for _, claim in self._cached(sts, pod):
            refs = list(meta(claim).get("ownerReferences") or ()) if claim else []
            if claim is not None and claim_owner_refs(refs, sts, pod) != refs:
                return False
        return True

    async def fix_retention(self, sts: Obj, pod: Obj) -> None:
        """Set each existing claim's ownerReferences as the retention policy wants them."""
        for name, claim in self._cached(sts, pod):
            if claim is None:
                continue
            refs = list(meta(claim).get("ownerReferences") or ())
            want = claim_owner_refs(refs, sts, pod)
            if want == refs:
                continue
            patch = {"metadata": {"ownerReferences": want or None,
                                  "resourceVersion": meta(claim).get("resourceVersion")}}
            try:
                await self.api.patch(RESOURCE, meta(claim).get("namespace"), name, patch)
            except apierrors.ApiError as err:
                if err.code == 409:
                    raise Requeue(reason=f"pvc {name} changed") from None
                if err.code != 404:
                    raise
