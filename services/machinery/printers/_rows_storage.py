"""Cells of table rows for PersistentVolumes, PersistentVolumeClaims and StorageClasses,
as Kubernetes' printers compute them (``printPersistentVolume``,
``printPersistentVolumeClaim``, ``printStorageClass``): access modes as ``RWO,ROX``,
``<unset>`` for an unset volume mode or attributes class, ``Terminating`` for an object
being deleted, a claim's capacity and access modes only once it names a volume, and
`` (default)`` after the name of the default StorageClass.
"""

from __future__ import annotations

from jetkube.schemas.objects import Obj
from jetkube.schemas.storageutil import access_modes_string, is_default_class

from ._rows import _meta, _spec, _status, age_of, name_of

UNSET = "<unset>"


def _phase(o: Obj) -> str:
    if _meta(o).get("deletionTimestamp"):
        return "Terminating"
    return str(_status(o).get("phase") or "")


def _storage(resources: object) -> str:
    return str((resources if isinstance(resources, dict) else {}).get("storage") or "0")


def _persistent_volume(o: Obj) -> list[str]:
    s = _spec(o)
    ref = s.get("claimRef") or {}
    claim = f"{ref.get('namespace') or ''}/{ref.get('name') or ''}" if s.get("claimRef") else ""
    return [name_of(o), _storage(s.get("capacity")), access_modes_string(s.get("accessModes")),
            str(s.get("persistentVolumeReclaimPolicy") or ""), _phase(o), claim,
            str(s.get("storageClassName") or ""), str(s.get("volumeAttributesClassName") or UNSET),
            str(_status(o).get("reason") or ""), age_of(o)]


def _volume_mode(o: Obj) -> list[str]:
    return [str(_spec(o).get("volumeMode") or UNSET)]


def _persistent_volume_claim(o: Obj) -> list[str]:
    s, st = _spec(o), _status(o)
    capacity = modes = ""
    if s.get("volumeName"):
        capacity, modes = _storage(st.get("capacity")), access_modes_string(st.get("accessModes"))
    return [name_of(o), _phase(o), str(s.get("volumeName") or ""), capacity, modes,
            str(s.get("storageClassName") or ""), str(s.get("volumeAttributesClassName") or UNSET),
            age_of(o)]


def _storage_class(o: Obj) -> list[str]:
    name = name_of(o)
    if is_default_class(_meta(o).get("annotations")):
        name += " (default)"
    return [name, str(o.get("provisioner") or ""), str(o.get("reclaimPolicy") or "Delete"),
            str(o.get("volumeBindingMode") or "Immediate"),
            str(bool(o.get("allowVolumeExpansion"))).lower(), age_of(o)]
