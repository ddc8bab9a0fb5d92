"""``kctl describe`` for PersistentVolume, PersistentVolumeClaim and StorageClass, as
kubectl's ``describePersistentVolume``, ``describePersistentVolumeClaim`` (with the
pods that use the claim, ``Used By``) and ``describeStorageClass`` print them."""

from __future__ import annotations

from jetkube.schemas.objects import Obj
from jetkube.schemas.storageutil import access_modes_string, is_default_class
from jetkube.schemas.volumematch import pod_claim_names

from .describe import NONE, Fetch, Writer, map_lines

_SOURCES = {
    "hostPath": "HostPath (bare host directory volume)",
    "local": "LocalVolume (a persistent volume backed by local storage on a node)",
    "nfs": "NFS (an NFS mount that lasts the lifetime of a pod)",
    "csi": "CSI (a Container Storage Interface (CSI) volume source)",
}


def _meta(o: Obj) -> Obj:
    return o.get("metadata") or {}


def _common(w: Writer, o: Obj, namespaced: bool) -> None:
    md = _meta(o)
    w.kv(0, "Name", md.get("name"))
    if namespaced:
        w.kv(0, "Namespace", md.get("namespace"))


def _labels_annotations(w: Writer, o: Obj) -> None:
    md = _meta(o)
    w.kv(0, "Labels", map_lines(md.get("labels")))
    anns = {k: v for k, v in (md.get("annotations") or {}).items()
            if k != "kubectl.kubernetes.io/last-applied-configuration"}
    w.kv(0, "Annotations", map_lines(anns, ": "))
    w.kv(0, "Finalizers", f"[{' '.join(md.get('finalizers') or [])}]")


def _phase(o: Obj) -> str:
    md = _meta(o)
    if md.get("deletionTimestamp"):
        return f"Terminating (lasts since {md['deletionTimestamp']})"
    return str((o.get("status") or {}).get("phase") or "")


def _node_affinity(w: Writer, spec: Obj) -> None:
    required = (spec.get("nodeAffinity") or {}).get("required")
    if not required:
        w.kv(0, "Node Affinity", NONE)
        return
    w.section(0, "Node Affinity")
    w.section(1, "Required Terms")
    for i, term in enumerate(required.get("nodeSelectorTerms") or ()):
        exprs = [f"{r.get('key')} {str(r.get('operator')).lower()} "
                 f"[{', '.join(r.get('values') or [])}]"
                 for r in (term.get("matchExpressions") or []) + (term.get("matchFields") or [])]
        w.kv(2, f"Term {i}", exprs or ["<all>"])


def _source(w: Writer, spec: Obj) -> None:
    w.section(0, "Source")
    kind = next((k for k in _SOURCES if spec.get(k)), None)
    if kind is None:
        w.kv(2, "Type", "<unknown>")
        return
    src = spec[kind]
    w.kv(2, "Type", _SOURCES[kind])
    if kind == "hostPath":
        w.kv(2, "Path", src.get("path"))
        w.kv(2, "HostPathType", src.get("type") or "")
    elif kind == "local":
        w.kv(2, "Path", src.get("path"))
    elif kind == "nfs":
        w.kv(2, "Server", src.get("server"))
        w.kv(2, "Path", src.get("path"))
        w.kv(2, "ReadOnly", str(bool(src.get("readOnly"))).lower())
    else:
        w.kv(2, "Driver", src.get("driver"))
        w.kv(2, "FSType", src.get("fsType") or "")
        w.kv(2, "VolumeHandle", src.get("volumeHandle"))
        w.kv(2, "ReadOnly", str(bool(src.get("readOnly"))).lower())
        w.kv(2, "VolumeAttributes", map_lines(src.get("volumeAttributes")))


def persistentvolume(w: Writer, o: Obj, fetch: Fetch) -> None:
    spec, status = o.get("spec") or {}, o.get("status") or {}
    _common(w, o, namespaced=False)
    _labels_annotations(w, o)
    w.kv(0, "StorageClass", spec.get("storageClassName") or "")
    w.kv(0, "Status", _phase(o))
    ref = spec.get("claimRef")
    w.kv(0, "Claim", f"{ref.get('namespace')}/{ref.get('name')}" if ref else "")
    w.kv(0, "Reclaim Policy", spec.get("persistentVolumeReclaimPolicy"))
    w.kv(0, "Access Modes", access_modes_string(spec.get("accessModes")))
    w.kv(0, "VolumeMode", spec.get("volumeMode") or "Filesystem")
    w.kv(0, "Capacity", (spec.get("capacity") or {}).get("storage"))
    _node_affinity(w, spec)
    w.kv(0, "Message", status.get("message") or "")
    _source(w, spec)


def _used_by(fetch: Fetch, claim: Obj) -> list[str]:
    md = _meta(claim)
    try:
        pods = fetch(f"/api/v1/namespaces/{md.get('namespace')}/pods", {})
    except Exception:  # best effort, as kubectl's describer
        return []
    return [str(_meta(p).get("name")) for p in pods.get("items") or []
            if md.get("name") in pod_claim_names(p)]


def persistentvolumeclaim(w: Writer, o: Obj, fetch: Fetch) -> None:
    spec, status = o.get("spec") or {}, o.get("status") or {}
    _common(w, o, namespaced=True)
    w.kv(0, "StorageClass", spec.get("storageClassName") or "")
    w.kv(0, "Status", _phase(o))
    w.kv(0, "Volume", spec.get("volumeName") or "")
    _labels_annotations(w, o)
    bound = bool(spec.get("volumeName"))
    w.kv(0, "Capacity", (status.get("capacity") or {}).get("storage") if bound else "")
    w.kv(0, "Access Modes", access_modes_string(status.get("accessModes")) if bound else "")
    w.kv(0, "VolumeMode", spec.get("volumeMode") or "Filesystem")
    w.kv(0, "Used By", _used_by(fetch, o) or NONE)


def storageclass(w: Writer, o: Obj, fetch: Fetch) -> None:
    md = _meta(o)
    w.kv(0, "Name", md.get("name"))
    w.kv(0, "IsDefaultClass", "Yes" if is_default_class(md.get("annotations")) else "No")
    w.kv(0, "Annotations", ",".join(f"{k}={v}" for k, v in sorted(
        (md.get("annotations") or {}).items())) or NONE)
    w.kv(0, "Provisioner", o.get("provisioner"))
    w.kv(0, "Parameters", ",".join(f"{k}={v}" for k, v in sorted(
        (o.get("parameters") or {}).items())) or NONE)
    expand = o.get("allowVolumeExpansion")
    w.kv(0, "AllowVolumeExpansion", "<unset>" if expand is None else str(expand))
    w.kv(0, "MountOptions", o.get("mountOptions") or NONE)
    w.kv(0, "ReclaimPolicy", o.get("reclaimPolicy") or "Delete")
    w.kv(0, "VolumeBindingMode", o.get("volumeBindingMode") or "Immediate")
