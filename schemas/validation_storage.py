"""Semantic validation of PersistentVolume, PersistentVolumeClaim and StorageClass, as
Kubernetes' ``ValidatePersistentVolume``, ``ValidatePersistentVolumeClaim`` and
``ValidateStorageClass`` (create) and their ``…Update`` counterparts (immutable fields:
a volume's source, a claim's spec except a bound claim's storage request, a class's
provisioner, parameters, reclaim policy and binding mode).  Pure: no I/O.
"""

from __future__ import annotations

import posixpath
from typing import Any

from .fielderrors import (
    Errors,
    check,
    dns1123_subdomain,
    forbidden,
    invalid,
    not_supported,
    qualified_name,
    required,
    too_long,
)
from .objects import get_path
from .quantity import compare_quantities, parse_quantity
from .storage import PersistentVolume, PersistentVolumeClaim, StorageClass
from .storageutil import ACCESS_MODES, BINDING_MODES, RECLAIM_POLICIES, STORAGE, VOLUME_MODES
from .validation_meta import validate_label_selector
from .validation_pod import _validate_node_selector_term

_IMMUTABLE = "field is immutable"
_MAX_PARAMETERS_SIZE = 256 * 1024  # a StorageClass's parameters, keys and values


def _access_modes(errs: Errors, path: str, modes: list[str] | None, detail: str) -> None:
    if not modes:
        errs.append(required(path, detail))
        return
    for mode in modes:
        if mode not in ACCESS_MODES:
            errs.append(not_supported(path, mode, ACCESS_MODES))
    if "ReadWriteOncePod" in modes and len(modes) > 1:
        errs.append(forbidden(path, "may not use ReadWriteOncePod with other access modes"))


def _positive_quantity(errs: Errors, path: str, q: str) -> bool:
    if parse_quantity(q) <= 0:
        errs.append(invalid(path, q, "must be greater than zero"))
        return False
    return True


def _class_name(errs: Errors, path: str, name: str | None) -> None:
    if name:
        check(errs, path, name, dns1123_subdomain)


def _volume_mode(errs: Errors, path: str, mode: str) -> None:
    if mode not in VOLUME_MODES:
        errs.append(not_supported(path, mode, VOLUME_MODES))


def _no_backsteps(errs: Errors, path: str, value: str) -> None:
    if ".." in value.split("/"):
        errs.append(invalid(path, value, "must not contain '..'"))


def check_persistent_volume(errs: Errors, o: Any) -> None:
    assert isinstance(o, PersistentVolume)
    s = o.spec
    _access_modes(errs, "spec.accessModes", s.accessModes, "")
    cap = s.capacity or {}
    if not cap:
        errs.append(required("spec.capacity"))
    if STORAGE not in cap or len(cap) > 1:
        errs.append(not_supported("spec.capacity", sorted(cap), (STORAGE,)))
    for name, q in cap.items():
        _positive_quantity(errs, f"spec.capacity[{name}]", q)
    _class_name(errs, "spec.storageClassName", s.storageClassName)
    _volume_mode(errs, "spec.volumeMode", s.volumeMode)
    if s.persistentVolumeReclaimPolicy not in RECLAIM_POLICIES:
        errs.append(not_supported("spec.persistentVolumeReclaimPolicy",
                                  s.persistentVolumeReclaimPolicy, RECLAIM_POLICIES))
    if s.volumeAttributesClassName == "":
        errs.append(required("spec.volumeAttributesClassName", "an empty string is disallowed"))
    affinity = s.nodeAffinity.required if s.nodeAffinity is not None else None
    if affinity is not None:
        p = "spec.nodeAffinity.required.nodeSelectorTerms"
        if not affinity.nodeSelectorTerms:
            errs.append(required(p, "must have at least one node selector term"))
        for i, term in enumerate(affinity.nodeSelectorTerms):
            _validate_node_selector_term(errs, f"{p}[{i}]", term)
    sources = s.sources()
    if not sources:
        errs.append(required("spec", "must specify a volume type"))
    for extra in sources[1:]:
        errs.append(forbidden(f"spec.{extra}", "may not specify more than 1 volume type"))
    if s.hostPath is not None:
        if not s.hostPath.path:
            errs.append(required("spec.hostPath.path"))
        _no_backsteps(errs, "spec.hostPath.path", s.hostPath.path)
        if (posixpath.normpath(s.hostPath.path or ".") == "/"
                and s.persistentVolumeReclaimPolicy == "Recycle"):
            errs.append(forbidden("spec.persistentVolumeReclaimPolicy",
                                  "may not be 'recycle' for a hostPath mount of '/'"))
    if s.local is not None:
        if not s.local.path.startswith("/"):
            errs.append(invalid("spec.local.path", s.local.path, "must be an absolute path"))
        _no_backsteps(errs, "spec.local.path", s.local.path)
        if affinity is None:
            errs.append(required("spec.nodeAffinity", "Local volume requires node affinity"))
    if s.csi is not None:
        if not s.csi.driver:
            errs.append(required("spec.csi.driver"))
        if not s.csi.volumeHandle:
            errs.append(required("spec.csi.volumeHandle"))


def check_persistent_volume_claim(errs: Errors, o: Any) -> None:
    assert isinstance(o, PersistentVolumeClaim)
    s = o.spec
    _access_modes(errs, "spec.accessModes", s.accessModes, "at least 1 access mode is required")
    validate_label_selector(errs, "spec.selector", s.selector)
    storage = (s.resources.requests or {}).get(STORAGE)
    if storage is None:
        errs.append(required(f"spec.resources[{STORAGE}]"))
    else:
        _positive_quantity(errs, f"spec.resources[{STORAGE}]", storage)
    _class_name(errs, "spec.storageClassName", s.storageClassName)
    _volume_mode(errs, "spec.volumeMode", s.volumeMode)
    if s.volumeAttributesClassName == "":
        errs.append(required("spec.volumeAttributesClassName", "an empty string is disallowed"))


def check_storage_class(errs: Errors, o: Any) -> None:
    assert isinstance(o, StorageClass)
    if not o.provisioner:
        errs.append(required("provisioner"))
    elif len(o.provisioner) > 63:
        errs.append(too_long("provisioner", 63))
    else:
        check(errs, "provisioner", o.provisioner.lower(), qualified_name)
    params = o.parameters or {}
    if "" in params:
        errs.append(invalid("parameters", "", "keys may not be empty"))
    if sum(len(k) + len(v) for k, v in params.items()) > _MAX_PARAMETERS_SIZE:
        errs.append(too_long("parameters", _MAX_PARAMETERS_SIZE))
    if o.reclaimPolicy not in ("Delete", "Retain"):
        errs.append(not_supported("reclaimPolicy", o.reclaimPolicy, ("Delete", "Retain")))
    if o.volumeBindingMode not in BINDING_MODES:
        errs.append(not_supported("volumeBindingMode", o.volumeBindingMode, BINDING_MODES))
    for i, term in enumerate(o.allowedTopologies or ()):
        p = f"allowedTopologies[{i}].matchLabelExpressions"
        if not term.matchLabelExpressions:
            errs.append(required(p, "must have at least one label expression"))
        for j, req in enumerate(term.matchLabelExpressions or ()):
            check(errs, f"{p}[{j}].key", req.key, qualified_name)
            if not req.values:
                errs.append(required(f"{p}[{j}].values",
                                     "must have at least one value to match"))


# ---------------------------------------------------------------- updates


def _drop(d: Any, *keys: str) -> dict[str, Any]:
    return {k: v for k, v in (d if isinstance(d, dict) else {}).items() if k not in keys}


_PV_SOURCE_FIELDS = ("hostPath", "local", "nfs", "csi")


def persistent_volume_update(errs: Errors, old: dict[str, Any], new: dict[str, Any]) -> None:
    """``ValidatePersistentVolumeUpdate``: the source, the volume mode and (once set) the
    node affinity may not change; capacity, access modes, claimRef, class, reclaim policy
    may."""
    o, n = old.get("spec") or {}, new.get("spec") or {}
    if any(o.get(f) != n.get(f) for f in _PV_SOURCE_FIELDS):
        errs.append(forbidden("spec.persistentvolumesource",
                              "spec.persistentvolumesource is immutable after creation"))
    if o.get("volumeMode") != n.get("volumeMode"):
        errs.append(invalid("volumeMode", n.get("volumeMode"), _IMMUTABLE))
    if o.get("nodeAffinity") is not None and o.get("nodeAffinity") != n.get("nodeAffinity"):
        errs.append(invalid("spec.nodeAffinity", n.get("nodeAffinity"), _IMMUTABLE))


def persistent_volume_claim_update(errs: Errors, old: dict[str, Any],
                                   new: dict[str, Any]) -> None:
    """``ValidatePersistentVolumeClaimUpdate``: the spec is immutable except that
    ``volumeName`` may be set once (binding), a class may be set on an unbound claim that
    has none (the retroactive default class), and a bound claim's storage request may
    change (expansion), never below what the volume already has (status.capacity)."""
    o, n = dict(old.get("spec") or {}), dict(new.get("spec") or {})
    if not o.get("volumeName"):
        n.pop("volumeName", None)
        o.pop("volumeName", None)
        if "storageClassName" not in o:
            n.pop("storageClassName", None)
    bound = get_path(old, "status.phase") == "Bound"
    if bound:
        o["resources"] = _drop(o.get("resources"), "requests")
        n["resources"] = _drop(n.get("resources"), "requests")
        o["resources"]["requests"] = _drop(get_path(old, "spec.resources.requests"), STORAGE)
        n["resources"]["requests"] = _drop(get_path(new, "spec.resources.requests"), STORAGE)
        o.pop("volumeAttributesClassName", None)
        n.pop("volumeAttributesClassName", None)
    if o != n:
        errs.append(forbidden("spec", "spec is immutable after creation except "
                                      "resources.requests and volumeAttributesClassName for "
                                      "bound claims"))
        return
    if not bound:
        return
    old_size = get_path(old, "spec.resources.requests.storage")
    new_size = get_path(new, "spec.resources.requests.storage")
    capacity = get_path(old, "status.capacity.storage")
    if (old_size is not None and new_size is not None
            and compare_quantities(new_size, old_size) < 0
            and capacity is not None and compare_quantities(new_size, capacity) < 0):
        errs.append(forbidden("spec.resources.requests.storage",
                              "field can not be less than status.capacity"))


def storage_class_update(errs: Errors, old: dict[str, Any], new: dict[str, Any]) -> None:
    """``ValidateStorageClassUpdate``: provisioner, parameters, reclaim policy and binding
    mode are fixed at creation."""
    for field in ("parameters", "provisioner", "reclaimPolicy"):
        if old.get(field) != new.get(field):
            errs.append(forbidden(field, f"updates to {field} are forbidden."))
    if old.get("volumeBindingMode") != new.get("volumeBindingMode"):
        errs.append(invalid("volumeBindingMode", new.get("volumeBindingMode"), _IMMUTABLE))
