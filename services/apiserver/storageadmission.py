"""Admission plugins for persistent storage, as kube-apiserver's:

- **DefaultStorageClass**: a claim created without ``spec.storageClassName`` (absent, not
  ``""``, which asks for no class) gets the default StorageClass's name: the class
  annotated ``storageclass.kubernetes.io/is-default-class: "true"`` (or the beta
  annotation); with several, the newest, then the first by name (Kubernetes since 1.26).
  No default class: the claim keeps no class.
- **StorageObjectInUseProtection**: a new claim gets the ``kubernetes.io/pvc-protection``
  finalizer and a new volume ``kubernetes.io/pv-protection``; the pvc-protection and
  pv-protection controllers remove them once nothing uses the object.
- **PersistentVolumeClaimResize**: a bound claim's storage request may grow only when its
  StorageClass sets ``allowVolumeExpansion: true`` (403 otherwise).
"""

from __future__ import annotations

from jetkube.schemas.objects import Obj
from jetkube.schemas.quantity import compare_quantities
from jetkube.schemas.storageutil import PV_PROTECTION, PVC_PROTECTION, default_class

from ..machinery.apimachinery import apierrors, object_key
from .watchcache import WatchCache

STORAGECLASSES = "storageclasses"


def _add_finalizer(obj: Obj, finalizer: str) -> None:
    md = obj["metadata"]
    finalizers = list(md.get("finalizers") or [])
    if finalizer not in finalizers:
        md["finalizers"] = [*finalizers, finalizer]


class StorageAdmission:
    def __init__(self, cache: WatchCache) -> None:
        self.cache = cache

    def _classes(self) -> list[Obj]:
        return [c.obj for c in self.cache.resource(STORAGECLASSES).items.values()]

    def _class(self, name: str) -> Obj | None:
        cached = self.cache.resource(STORAGECLASSES).items.get(
            object_key(STORAGECLASSES, None, name))
        return cached.obj if cached is not None else None

    async def admit(self, plural: str, op: str, old: Obj | None, new: Obj,
                    subresource: str | None) -> None:
        """Mutate or refuse a write of a claim or volume (others pass untouched).  A claim's
        classes are read after the watch cache caught up with the store (a consistent read,
        so a class created just before the claim counts)."""
        if subresource is not None:
            return
        if plural == "persistentvolumeclaims":
            await self.cache.wait_fresh()
            if op == "create":
                spec = new.setdefault("spec", {})
                if spec.get("storageClassName") is None:
                    name = default_class(self._classes())
                    if name is not None:
                        spec["storageClassName"] = name
                _add_finalizer(new, PVC_PROTECTION)
            elif old is not None:
                self._resize(old, new)
        elif plural == "persistentvolumes" and op == "create":
            _add_finalizer(new, PV_PROTECTION)

    def _resize(self, old: Obj, new: Obj) -> None:
        def storage(o: Obj) -> str | None:
            v = (((o.get("spec") or {}).get("resources") or {}).get("requests") or {}).get(
                "storage")
            return v if isinstance(v, str) else None

        before, after = storage(old), storage(new)
        if before is None or after is None or compare_quantities(after, before) <= 0:
            return
        cls_name = (old.get("spec") or {}).get("storageClassName")
        cls = self._class(cls_name) if isinstance(cls_name, str) and cls_name else None
        if cls is None or not cls.get("allowVolumeExpansion"):
            raise apierrors.forbidden_message(
                "only dynamically provisioned pvc can be resized and the storageclass that "
                "provisions the pvc must support resize")
