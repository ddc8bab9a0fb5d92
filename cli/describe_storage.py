"""``kctl describe`` for PersistentVolume, PersistentVolumeClaim and StorageClass, in
kubectl's ``describePersistentVolume``, ``describePersistentVolumeClaim`` (with the pods
that use the claim, ``Used By``) and ``describeStorageClass`` format strings."""

from __future__ import annotations

from typing import Any

from jetkube.schemas.objects import Obj
from jetkube.schemas.storageutil import access_modes_string, is_default_class
from jetkube.schemas.volumematch import pod_claim_names
from jetkube.services.machinery.printers import age

from .describe import (
    NONE,
    Fetch,
    Writer,
    annotations_multiline,
    describe_events,
    events_for,
    labels_multiline,
    meta,
    rfc1123z,
)
from .describe_volumes import pv_source

__all__ = ["persistentvolume", "persistentvolumeclaim", "storageclass"]


def _format_labels(m: Any) -> str:
    """``labels.FormatLabels``."""
    if not isinstance(m, dict) or not m:
        return NONE
    return ",".join(f"{k}={v}" for k, v in sorted(m.items()))


def _status(o: Obj) -> str:
    md = meta(o)
    if md.get("deletionTimestamp"):
        return f"Terminating (lasts {age(md['deletionTimestamp'])})"
    return str((o.get("status") or {}).get("phase") or "")


def _node_affinity(w: Writer, spec: Obj) -> None:
    w.write(0, "Node Affinity:\t")
    required = (spec.get("nodeAffinity") or {}).get("required")
    if not required:
        w.line(NONE)
        return
    w.line("")
    w.write(1, "Required Terms:\t")
    terms = required.get("nodeSelectorTerms") or []
    if not terms:
        w.line(NONE)
        return
    w.line("")
    for i, term in enumerate(terms):
        w.write(2, f"Term {i}:\t")
        reqs = term.get("matchExpressions") or []
        if not reqs:
            w.line(NONE)
        for j, r in enumerate(reqs):
            if j:
                w.write(2, "\t")
            text = f"{r.get('key')} {str(r.get('operator')).lower()}"
            if r.get("values"):
                text += f" [{', '.join(r['values'])}]"
            w.write(0, f"{text}\n")


def persistentvolume(w: Writer, o: Obj, fetch: Fetch) -> None:
    md, spec, st = meta(o), o.get("spec") or {}, o.get("status") or {}
    w.write(0, f"Name:\t{md.get('name')}\n")
    labels_multiline(w, "Labels", md.get("labels"))
    annotations_multiline(w, "Annotations", md.get("annotations"))
    w.write(0, f"Finalizers:\t[{' '.join(md.get('finalizers') or [])}]\n")
    w.write(0, f"StorageClass:\t{spec.get('storageClassName') or ''}\n")
    w.write(0, f"Status:\t{_status(o)}\n")
    ref = spec.get("claimRef")
    w.write(0, f"Claim:\t{ref.get('namespace', '')}/{ref.get('name', '')}\n" if ref else
            "Claim:\t\n")
    w.write(0, f"Reclaim Policy:\t{spec.get('persistentVolumeReclaimPolicy') or ''}\n")
    w.write(0, f"Access Modes:\t{access_modes_string(spec.get('accessModes'))}\n")
    if spec.get("volumeMode"):
        w.write(0, f"VolumeMode:\t{spec['volumeMode']}\n")
    w.write(0, f"Capacity:\t{(spec.get('capacity') or {}).get('storage') or '0'}\n")
    _node_affinity(w, spec)
    w.write(0, f"Message:\t{st.get('message') or ''}\n")
    w.write(0, "Source:\n")
    pv_source(w, spec)
    describe_events(w, events_for(fetch, o))


def _used_by(fetch: Fetch, claim: Obj) -> list[str] | None:
    md = meta(claim)
    try:
        pods = fetch(f"/api/v1/namespaces/{md.get('namespace')}/pods", {})
    except Exception:  # kubectl fails the description then; kctl leaves the pods out
        return None
    items = pods.get("items") or []
    names = [str(meta(p).get("name")) for p in items if md.get("name") in pod_claim_names(p)]
    for ref in md.get("ownerReferences") or []:
        if ref.get("kind") == "Pod":
            names += [str(meta(p).get("name")) for p in items
                      if meta(p).get("uid") == ref.get("uid")
                      and str(meta(p).get("name")) not in names]
    return sorted(names)


def persistentvolumeclaim(w: Writer, o: Obj, fetch: Fetch) -> None:
    md, spec, st = meta(o), o.get("spec") or {}, o.get("status") or {}
    used_by = _used_by(fetch, o)
    w.write(0, f"Name:\t{md.get('name')}\n")
    w.write(0, f"Namespace:\t{md.get('namespace')}\n")
    w.write(0, f"StorageClass:\t{spec.get('storageClassName') or ''}\n")
    w.write(0, f"Status:\t{_status(o)}\n")
    w.write(0, f"Volume:\t{spec.get('volumeName') or ''}\n")
    labels_multiline(w, "Labels", md.get("labels"))
    annotations_multiline(w, "Annotations", md.get("annotations"))
    w.write(0, f"Finalizers:\t[{' '.join(md.get('finalizers') or [])}]\n")
    bound = bool(spec.get("volumeName"))
    w.write(0, f"Capacity:\t{(st.get('capacity') or {}).get('storage') or '0' if bound else ''}\n")
    w.write(0, f"Access Modes:\t{access_modes_string(st.get('accessModes')) if bound else ''}\n")
    if spec.get("volumeMode"):
        w.write(0, f"VolumeMode:\t{spec['volumeMode']}\n")
    if spec.get("dataSource"):
        src = spec["dataSource"]
        w.write(0, "DataSource:\n")
        if src.get("apiGroup") is not None:
            w.write(1, f"APIGroup:\t{src['apiGroup']}\n")
        w.write(1, f"Kind:\t{src.get('kind', '')}\n")
        w.write(1, f"Name:\t{src.get('name', '')}\n")
    w.write(0, "Used By:\t")
    if not used_by:
        w.line(NONE)
    for i, name in enumerate(used_by or []):
        w.write(0, ("\t" if i else "") + f"{name}\n")
    if st.get("conditions"):
        w.write(0, "Conditions:\n")
        w.write(1, "Type\tStatus\tLastProbeTime\tLastTransitionTime\tReason\tMessage\n")
        w.write(1, "----\t------\t-----------------\t------------------\t------\t-------\n")
        for c in st["conditions"]:
            w.write(1, f"{c.get('type')} \t{c.get('status')} \t{rfc1123z(c.get('lastProbeTime'))} "
                       f"\t{rfc1123z(c.get('lastTransitionTime'))} \t{c.get('reason') or ''} \t"
                       f"{c.get('message') or ''}\n")
    describe_events(w, events_for(fetch, o))


def storageclass(w: Writer, o: Obj, fetch: Fetch) -> None:
    md = meta(o)
    w.write(0, f"Name:\t{md.get('name')}\n")
    w.write(0, f"IsDefaultClass:\t{'Yes' if is_default_class(md.get('annotations')) else 'No'}\n")
    w.write(0, f"Annotations:\t{_format_labels(md.get('annotations'))}\n")
    w.write(0, f"Provisioner:\t{o.get('provisioner') or ''}\n")
    w.write(0, f"Parameters:\t{_format_labels(o.get('parameters'))}\n")
    expand = o.get("allowVolumeExpansion")
    w.write(0, "AllowVolumeExpansion:\t"
               f"{'<unset>' if expand is None else 'True' if expand else 'False'}\n")
    if not o.get("mountOptions"):
        w.write(0, "MountOptions:\t<none>\n")
    else:
        w.write(0, "MountOptions:\n")
        for opt in o["mountOptions"]:
            w.write(1, f"{opt}\n")
    if o.get("reclaimPolicy"):
        w.write(0, f"ReclaimPolicy:\t{o['reclaimPolicy']}\n")
    if o.get("volumeBindingMode"):
        w.write(0, f"VolumeBindingMode:\t{o['volumeBindingMode']}\n")
    if o.get("allowedTopologies") is not None:
        w.write(0, "AllowedTopologies:\t")
        if not o["allowedTopologies"]:
            w.line(NONE)
        else:
            w.line("")
        for i, term in enumerate(o["allowedTopologies"]):
            w.write(1, f"Term {i}:\t")
            reqs = term.get("matchLabelExpressions") or []
            if not reqs:
                w.line(NONE)
            for j, r in enumerate(reqs):
                if j:
                    w.write(1, "\t")
                w.write(0, f"{r.get('key')} in [{', '.join(r.get('values') or [])}]\n")
    describe_events(w, events_for(fetch, o))
