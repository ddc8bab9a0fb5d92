"""Update validation: which fields may not change between the stored object
and its replacement (``ValidateXUpdate``).  Works on two canonical dicts as
``load_object`` returns them; name/namespace/uid are the API server's check.
"""

from __future__ import annotations

from typing import Any

from .discovery import check_endpointslice_update
from .fielderrors import Errors, forbidden, invalid
from .objects import get_path
from .validation_statefulset import controller_revision_update, statefulset_update
from .validation_storage import (
    persistent_volume_claim_update,
    persistent_volume_update,
    storage_class_update,
)

_IMMUTABLE = "field is immutable"


def _immutable(errs: Errors, old: dict[str, Any], new: dict[str, Any], *path: str) -> None:
    a, b = get_path(old, ".".join(path)), get_path(new, ".".join(path))
    if a != b:
        errs.append(invalid(".".join(path), b, _IMMUTABLE))


def _pod(errs: Errors, old: dict[str, Any], new: dict[str, Any]) -> None:
    o, n = old.get("spec") or {}, new.get("spec") or {}
    if o == n:
        return
    # what may change: container images, activeDeadlineSeconds (set or shortened),
    # tolerations (additions only), schedulingGates (removals only)
    o2, n2 = dict(o), dict(n)
    for field in ("containers", "initContainers"):
        oc, nc = o2.get(field), n2.get(field)
        if oc is not None and nc is not None and len(oc) == len(nc):
            n2[field] = [{**c, "image": oc[i].get("image")} for i, c in enumerate(nc)]
    ad_old, ad_new = o2.pop("activeDeadlineSeconds", None), n2.pop("activeDeadlineSeconds", None)
    if ad_new != ad_old:
        if ad_new is None or (ad_old is not None and ad_new > ad_old):
            errs.append(invalid("spec.activeDeadlineSeconds", ad_new,
                                "must be less than or equal to previous value"))
    t_old, t_new = o2.pop("tolerations", None) or [], n2.pop("tolerations", None) or []
    if any(t not in t_new for t in t_old):
        errs.append(forbidden("spec.tolerations", "existing toleration can not be modified "
                                                  "except its tolerationSeconds"))
    g_old, g_new = o2.pop("schedulingGates", None) or [], n2.pop("schedulingGates", None) or []
    if any(g not in g_old for g in g_new):
        errs.append(forbidden("spec.schedulingGates", "only deletion is allowed, but found new "
                                                      "scheduling gate"))
    if o2 != n2:
        changed = sorted(k for k in set(o2) | set(n2) if o2.get(k) != n2.get(k))
        errs.append(forbidden(
            "spec",
            "pod updates may not change fields other than `spec.containers[*].image`,"
            "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` "
            "(only additions to existing tolerations),`spec.terminationGracePeriodSeconds` "
            "(allow it to be set to 1 if it was previously negative) (changed: "
            + ", ".join(f"spec.{k}" for k in changed) + ")"))


def _selector(errs: Errors, old: dict[str, Any], new: dict[str, Any]) -> None:
    _immutable(errs, old, new, "spec", "selector")


def _job(errs: Errors, old: dict[str, Any], new: dict[str, Any]) -> None:
    _immutable(errs, old, new, "spec", "selector")
    _immutable(errs, old, new, "spec", "completionMode")
    _immutable(errs, old, new, "spec", "podFailurePolicy")
    if get_path(old, "spec.completionMode") != "Indexed":
        _immutable(errs, old, new, "spec", "completions")
    if not get_path(old, "spec.suspend"):
        # a suspended Job may have its pod template's scheduling directives updated
        _immutable(errs, old, new, "spec", "template")


def _service(errs: Errors, old: dict[str, Any], new: dict[str, Any]) -> None:
    o_ip = get_path(old, "spec.clusterIP")
    if o_ip and new.get("spec", {}).get("type") != "ExternalName":
        n_ip = get_path(new, "spec.clusterIP")
        if n_ip != o_ip:
            errs.append(invalid("spec.clusterIP", n_ip, _IMMUTABLE))
        elif get_path(old, "spec.clusterIPs") and (
                (get_path(new, "spec.clusterIPs") or [None])[0]
                != get_path(old, "spec.clusterIPs")[0]):
            errs.append(invalid("spec.clusterIPs[0]", get_path(new, "spec.clusterIPs"),
                                "may not change once set"))


def _node(errs: Errors, old: dict[str, Any], new: dict[str, Any]) -> None:
    for field in ("podCIDR", "podCIDRs", "providerID"):
        if get_path(old, f"spec.{field}"):
            a, b = get_path(old, f"spec.{field}"), get_path(new, f"spec.{field}")
            if a != b:
                errs.append(forbidden(f"spec.{field}",
                                      f"node updates may not change {field} except from "
                                      '"" to valid'))


def _immutable_data(errs: Errors, old: dict[str, Any], new: dict[str, Any]) -> None:
    if old.get("kind") == "Secret":
        _immutable(errs, old, new, "type")
    if old.get("immutable"):
        if not new.get("immutable"):
            errs.append(forbidden("immutable", "field is immutable when `immutable` is set"))
        for field in ("data", "binaryData"):
            if old.get(field) != new.get(field):
                errs.append(forbidden(field, "field is immutable when `immutable` is set"))


def _role_binding(errs: Errors, old: dict[str, Any], new: dict[str, Any]) -> None:
    if old.get("roleRef") != new.get("roleRef"):
        errs.append(invalid("roleRef", new.get("roleRef"), "cannot change roleRef"))


_UPDATES = {
    "Pod": _pod,
    "Deployment": _selector,
    "ReplicaSet": _selector,
    "DaemonSet": _selector,
    "StatefulSet": statefulset_update,
    "ControllerRevision": controller_revision_update,
    "Job": _job,
    "Service": _service,
    "EndpointSlice": check_endpointslice_update,
    "Node": _node,
    "PersistentVolume": persistent_volume_update,
    "PersistentVolumeClaim": persistent_volume_claim_update,
    "StorageClass": storage_class_update,
    "ConfigMap": _immutable_data,
    "Secret": _immutable_data,
    "RoleBinding": _role_binding,
    "ClusterRoleBinding": _role_binding,
}


def validate_update(kind: str, old: dict[str, Any], new: dict[str, Any]) -> Errors:
    """Field errors for changes ``new`` may not make to ``old`` (both canonical)."""
    fn = _UPDATES.get(kind)
    errs: Errors = []
    if fn is not None:
        fn(errs, old, new)
    return errs
