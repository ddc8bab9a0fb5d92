"""Object lifecycle rules as Kubernetes' registry strategies apply them.

What the server sets on create (uid, timestamps, generation, fresh status),
what an update may change (status only through the status subresource,
generation bumped on spec change), and how a delete proceeds (finalizers,
propagation policy, graceful deletion of pods bound to a node).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from jetkube.schemas import format_time
from jetkube.schemas.objects import Obj
from jetkube.schemas.registry import ResourceType

from ..machinery.apimachinery import new_uid
from .objects import deep_copy, meta

# Kinds whose status the server resets on create, as their strategies do.
_FRESH_STATUS: dict[str, Obj | None] = {
    "pods": {"phase": "Pending"},
    "persistentvolumes": {"phase": "Pending"}, "persistentvolumeclaims": {"phase": "Pending"},
    "deployments": None, "replicasets": None, "daemonsets": None, "jobs": None, "cronjobs": None,
    "replicationcontrollers": None,
    "statefulsets": None,
}
_SERVER_META = ("uid", "creationTimestamp", "generation", "deletionTimestamp",
                "deletionGracePeriodSeconds")
_NOT_SPEC = {"metadata", "status", "kind", "apiVersion"}


def _has_status(rt: ResourceType) -> bool:
    return "status" in rt.subresources


def prepare_create(rt: ResourceType, obj: Obj, now: datetime | None = None) -> Obj:
    """``obj`` as it is first stored: server-set metadata replaced (uid, creation time
    ``now``, default the wall clock), generation 1, status and other fields reset."""
    new = dict(obj)
    md = dict(meta(obj))
    for k in ("resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds",
              "managedFields", "selfLink"):
        md.pop(k, None)
    md["uid"] = new_uid()
    md["creationTimestamp"] = format_time(now or datetime.now(UTC))
    if _has_status(rt):
        md["generation"] = 1
    new["metadata"] = md
    if rt.plural == "jobs":
        _generate_job_selector(new)
    if rt.plural in _FRESH_STATUS:
        fresh = _FRESH_STATUS[rt.plural]
        if fresh is None:
            new.pop("status", None)
        else:
            new["status"] = dict(fresh)
    return new


def _generate_job_selector(job: Obj) -> None:
    """As Kubernetes' Job strategy: unless spec.manualSelector, select the job's own pods
    by its uid, and label the template so they match."""
    spec = job.get("spec")
    if not isinstance(spec, dict) or spec.get("manualSelector") is True:
        return
    uid, name = job["metadata"]["uid"], job["metadata"].get("name", "")
    labels = {"batch.kubernetes.io/controller-uid": uid, "controller-uid": uid,
              "batch.kubernetes.io/job-name": name, "job-name": name}
    spec["selector"] = {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}
    template = spec.setdefault("template", {})
    if isinstance(template, dict):
        tmeta = template.setdefault("metadata", {})
        if isinstance(tmeta, dict):
            tmeta["labels"] = {**(tmeta.get("labels") or {}), **labels}


def _spec_part(obj: Obj) -> Obj:
    return {k: v for k, v in obj.items() if k not in _NOT_SPEC}


def prepare_update(rt: ResourceType, old: Obj, obj: Obj, subresource: str | None) -> Obj:
    old_md = old["metadata"]
    if subresource == "binding":  # obj is already a fresh copy of old with the node set
        new = dict(obj)
        new["metadata"] = dict(obj["metadata"])
    elif subresource in ("status", "finalize"):
        new = deep_copy(without_managed_fields(old))  # (dropped below: not worth copying)
        if subresource == "status":
            if "status" in obj:
                new["status"] = obj["status"]
            else:
                new.pop("status", None)
        else:
            new.setdefault("spec", {})["finalizers"] = (obj.get("spec") or {}).get("finalizers") or []
    else:
        new = dict(obj)
        if _has_status(rt):
            if "status" in old:
                new["status"] = old["status"]
            else:
                new.pop("status", None)
        new["metadata"] = dict(meta(obj))
        md = new["metadata"]
        for k in _SERVER_META:
            if k in old_md:
                md[k] = old_md[k]
            else:
                md.pop(k, None)
        if "generation" in old_md and _spec_part(old) != _spec_part(new):
            md["generation"] = int(old_md["generation"]) + 1
    new["metadata"].pop("resourceVersion", None)
    new["metadata"].pop("managedFields", None)
    if rt.plural == "services" and subresource is None:
        drop_type_dependent_fields(old, new)
    return new


def drop_type_dependent_fields(old: Obj, new: Obj) -> None:
    """Kubernetes' ``dropTypeDependentFields``: a Service that changes to a type without a
    ClusterIP (ExternalName) or without node ports loses the ones it carried over unchanged
    from ``old`` (the API server then gives them back); what the client changed stays, for
    validation to judge."""
    old_spec, spec = old.get("spec") or {}, new.get("spec")
    if not isinstance(spec, dict) or spec.get("type") == old_spec.get("type"):
        return
    new["spec"] = spec = dict(spec)
    if spec.get("type") == "ExternalName":
        for f in ("clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"):
            if f in spec and spec[f] == old_spec.get(f):
                del spec[f]
    if spec.get("type") not in ("NodePort", "LoadBalancer") and isinstance(spec.get("ports"), list):
        old_ports = {p.get("nodePort") for p in old_spec.get("ports") or [] if isinstance(p, dict)}
        spec["ports"] = [{k: v for k, v in p.items() if k != "nodePort"}
                         if isinstance(p, dict) and p.get("nodePort") in old_ports else p
                         for p in spec["ports"]]


def without_managed_fields(obj: Obj) -> Obj:
    """``obj`` without ``metadata.managedFields`` (shallow: the rest is shared)."""
    md = obj.get("metadata")
    if not isinstance(md, dict) or "managedFields" not in md:
        return obj
    return {**obj, "metadata": {k: v for k, v in md.items() if k != "managedFields"}}


def same_stored(old: Obj, new: Obj) -> bool:
    """True when ``new`` would store exactly what ``old`` holds."""
    a = dict(old)
    b = dict(new)
    a["metadata"] = {k: v for k, v in old.get("metadata", {}).items() if k != "resourceVersion"}
    b["metadata"] = {k: v for k, v in new.get("metadata", {}).items() if k != "resourceVersion"}
    return a == b


def ready_to_remove(obj: Obj) -> bool:
    """An object being deleted whose last finalizer is gone leaves the store."""
    md = obj.get("metadata", {})
    if not md.get("deletionTimestamp") or md.get("finalizers"):
        return False
    if obj.get("kind") == "Namespace" and (obj.get("spec") or {}).get("finalizers"):
        return False
    if obj.get("kind") == "Pod" and md.get("deletionGracePeriodSeconds"):
        return False  # the node agent finishes graceful deletion with a zero grace period
    return True


def _pod_grace(old: Obj, opts: Obj) -> int:
    spec = old.get("spec") or {}
    if not spec.get("nodeName"):
        return 0  # never ran anywhere: goes at once
    g = opts.get("gracePeriodSeconds")
    if g is None:
        g = spec.get("terminationGracePeriodSeconds", 30)
    return max(0, int(g))


MAX_GRACE_SPAN = 10**10
"""Seconds (~317 years) past which a deletion timestamp is not moved further: Python's
datetime ends at year 9999, and no grace period that long ends anyway."""


def mark_deleted(rt: ResourceType, old: Obj, opts: Obj,
                 now: datetime | None = None) -> Obj | None:
    """The object as a delete at ``now`` (default the wall clock) leaves it, or None when
    it is to be removed now."""
    md = old["metadata"]
    finalizers: list[str] = list(md.get("finalizers") or [])
    policy = opts.get("propagationPolicy")
    if policy == "Orphan" and "orphan" not in finalizers:
        finalizers.append("orphan")
    elif policy == "Foreground" and "foregroundDeletion" not in finalizers:
        finalizers.append("foregroundDeletion")
    grace = _pod_grace(old, opts) if rt.plural == "pods" else 0
    ns_final = rt.plural == "namespaces" and bool((old.get("spec") or {}).get("finalizers"))
    if md.get("deletionTimestamp"):
        cur = md.get("deletionGracePeriodSeconds")
        if rt.plural == "pods" and grace == 0 and not finalizers:
            return None
        new = deep_copy(old)
        new["metadata"]["finalizers"] = finalizers or None
        if cur is not None and grace < int(cur):
            new["metadata"]["deletionGracePeriodSeconds"] = grace
        return _clean(new)
    if not finalizers and grace == 0 and not ns_final:
        return None
    new = deep_copy(old)
    nmd = new["metadata"]
    # a grace of up to 2^63-1 s is valid; a timestamp past ~300 years cannot be formed
    when = (now or datetime.now(UTC)) + timedelta(seconds=min(grace, MAX_GRACE_SPAN))
    nmd["deletionTimestamp"] = format_time(when)
    nmd["deletionGracePeriodSeconds"] = grace
    nmd["finalizers"] = finalizers or None
    if rt.plural == "namespaces":
        new.setdefault("status", {})["phase"] = "Terminating"
    return _clean(new)


def _clean(obj: Obj) -> Obj:
    md = obj["metadata"]
    if md.get("finalizers") is None:
        md.pop("finalizers", None)
    return obj


def owner_uids(obj: Obj) -> list[str]:
    return [str(r.get("uid")) for r in obj.get("metadata", {}).get("ownerReferences") or []]


