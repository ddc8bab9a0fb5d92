"""Per-kind ``kctl describe`` sections and the dispatch by kind.

Pods live in :mod:`.describe_pods`, workloads (Deployment, ReplicaSet,
DaemonSet, Job) in :mod:`.describe_workloads`, volumes and classes in
:mod:`.describe_storage`; this module has Service, Node,
Namespace, ConfigMap and Secret.  Every other kind gets the generic
describer.  All of them end with the object's Events.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from decimal import Decimal

from jetkube.schemas.objects import Obj
from jetkube.schemas.quantity import add_quantities, format_quantity, parse_quantity
from jetkube.services.machinery.printers import age, describe_time, endpoints_string, node_roles

from .describe import NONE, Fetch, Writer, events_for, events_section, generic, header, map_lines
from .describe_pods import pod, pod_template
from .describe_storage import persistentvolume, persistentvolumeclaim, storageclass
from .describe_workloads import cronjob, daemonset, deployment, job, replicaset, statefulset
from .tables import render

__all__ = ["DESCRIBERS", "describe", "pod_template"]


def service(w: Writer, o: Obj, fetch: Fetch) -> None:
    """kubectl's describeService: endpoints per port (the first 3 and "+ N more..."), the
    LoadBalancer ingress, the traffic policy of node ports."""
    meta, spec = o.get("metadata") or {}, o.get("spec") or {}
    header(w, o, namespaced=True)
    w.kv(0, "Selector", map_lines(spec.get("selector")))
    stype = spec.get("type") or "ClusterIP"
    w.kv(0, "Type", stype)
    w.kv(0, "IP Family Policy", spec.get("ipFamilyPolicy") or "SingleStack")
    w.kv(0, "IP Families", ",".join(spec.get("ipFamilies") or ["IPv4"]))
    w.kv(0, "IP", spec.get("clusterIP"))
    w.kv(0, "IPs", ",".join(spec.get("clusterIPs") or [spec.get("clusterIP") or NONE]))
    if stype == "ExternalName":
        w.kv(0, "External Name", spec.get("externalName"))
    ingress = ((o.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    if ingress:
        w.kv(0, "LoadBalancer Ingress",
             ", ".join(str(i.get("ip") or i.get("hostname")) for i in ingress))
    eps: Obj = {}
    try:
        eps = fetch(f"/api/v1/namespaces/{meta.get('namespace')}/endpoints/{meta.get('name')}", {})
    except Exception:
        eps = {}
    for p in spec.get("ports") or []:
        name = p.get("name") or "<unset>"
        proto = p.get("protocol") or "TCP"
        w.kv(0, "Port", f"{name}  {p.get('port')}/{proto}")
        w.kv(0, "TargetPort", f"{p.get('targetPort', p.get('port'))}/{proto}")
        if p.get("nodePort"):
            w.kv(0, "NodePort", f"{name}  {p['nodePort']}/{proto}")
        w.kv(0, "Endpoints", endpoints_string(eps, port_names={p.get("name") or ""})
             if eps else "")
    w.kv(0, "Session Affinity", spec.get("sessionAffinity") or "None")
    if stype in ("NodePort", "LoadBalancer"):
        w.kv(0, "External Traffic Policy", spec.get("externalTrafficPolicy") or "Cluster")


_SYSTEM_INFO = (("machineID", "Machine ID"), ("systemUUID", "System UUID"),
                ("bootID", "Boot ID"), ("kernelVersion", "Kernel Version"),
                ("osImage", "OS Image"), ("operatingSystem", "Operating System"),
                ("architecture", "Architecture"),
                ("containerRuntimeVersion", "Container Runtime Version"),
                ("kubeletVersion", "Kubelet Version"), ("kubeProxyVersion", "Kube-Proxy Version"))


def _sum(quantities: list[str], binary: bool) -> str:
    total = add_quantities(*quantities) if quantities else Decimal(0)
    return format_quantity(total, binary=binary and any("i" in q for q in quantities))


def _pct(used: str, alloc: object) -> str:
    try:
        cap = parse_quantity(str(alloc))
        frac = int(parse_quantity(used) * 100 / cap) if cap else 0
    except (ValueError, ArithmeticError):
        frac = 0
    return f"{used} ({frac}%)"


def _pod_resources(p: Obj) -> dict[str, list[str]]:
    """Container requests/limits of a pod: ``{"requests.cpu": [..], ...}``."""
    out: dict[str, list[str]] = {}
    for c in (p.get("spec") or {}).get("containers") or []:
        res = c.get("resources") or {}
        for part in ("requests", "limits"):
            for k, v in (res.get(part) or {}).items():
                out.setdefault(f"{part}.{k}", []).append(str(v))
    return out


def _node_pods(w: Writer, items: list[Obj], alloc: Obj) -> None:
    w.kv(0, "Non-terminated Pods", f"({len(items)} in total)")
    cols = [("requests.cpu", "cpu"), ("limits.cpu", "cpu"), ("requests.memory", "memory"),
            ("limits.memory", "memory")]
    totals: dict[str, list[str]] = {}
    rows = []
    for p in items:
        res = _pod_resources(p)
        cells = []
        for key, r in cols:
            used = _sum(res.get(key, []), r == "memory")
            totals.setdefault(key, []).append(used)
            cells.append(_pct(used, alloc.get(r, "0")))
        meta = p.get("metadata") or {}
        rows.append([str(meta.get("namespace") or ""), str(meta.get("name") or ""), *cells,
                     age(meta.get("creationTimestamp"))])
    if rows:
        heads = ["Namespace", "Name", "CPU Requests", "CPU Limits", "Memory Requests",
                 "Memory Limits", "Age"]
        for line in render(heads, [["-" * len(h) for h in heads], *rows], pad=2, min_width=0):
            w.raw(1, line)
    w.section(0, "Allocated resources")
    w.raw(1, "(Total limits may be over 100 percent, i.e., overcommitted.)")
    alloc_rows = [[r, _pct(_sum(totals.get(f"requests.{r}", []), r == "memory"),
                           alloc.get(r, "0")),
                   _pct(_sum(totals.get(f"limits.{r}", []), r == "memory"), alloc.get(r, "0"))]
                  for r in ("cpu", "memory")]
    heads = ["Resource", "Requests", "Limits"]
    for line in render(heads, [["-" * len(h) for h in heads], *alloc_rows], pad=2,
                       min_width=0):
        w.raw(1, line)


def node(w: Writer, o: Obj, fetch: Fetch) -> None:
    meta, spec, st = o.get("metadata") or {}, o.get("spec") or {}, o.get("status") or {}
    w.kv(0, "Name", meta.get("name"))
    w.kv(0, "Roles", node_roles(o))
    w.kv(0, "Labels", map_lines(meta.get("labels")))
    w.kv(0, "Annotations", map_lines(meta.get("annotations"), ": "))
    w.kv(0, "CreationTimestamp", describe_time(meta.get("creationTimestamp")))
    taints = [f"{t.get('key')}{'=' + t['value'] if t.get('value') else ''}:{t.get('effect')}"
              for t in spec.get("taints") or []]
    w.kv(0, "Taints", taints or NONE)
    w.kv(0, "Unschedulable", "true" if spec.get("unschedulable") else "false")
    try:
        lease = fetch(f"/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/"
                      f"{meta.get('name')}", {})
    except Exception:  # no lease yet
        lease = {}
    if lease:
        ls = lease.get("spec") or {}
        w.section(0, "Lease")
        w.kv(1, "HolderIdentity", ls.get("holderIdentity") or "<unset>")
        w.kv(1, "AcquireTime", describe_time(ls.get("acquireTime")))
        w.kv(1, "RenewTime", describe_time(ls.get("renewTime")))
    conds = st.get("conditions") or []
    if conds:
        w.section(0, "Conditions")
        heads = ["Type", "Status", "LastHeartbeatTime", "LastTransitionTime", "Reason",
                 "Message"]
        rows = [[str(c.get("type")), str(c.get("status")),
                 describe_time(c.get("lastHeartbeatTime")),
                 describe_time(c.get("lastTransitionTime")), str(c.get("reason") or ""),
                 str(c.get("message") or "")] for c in conds]
        for line in render(heads, [["-" * len(h) for h in heads], *rows], pad=2, min_width=0):
            w.raw(1, line)
    w.section(0, "Addresses")
    for a in st.get("addresses") or []:
        w.kv(1, str(a.get("type")), a.get("address"))
    for part in ("capacity", "allocatable"):
        if st.get(part):
            w.section(0, part.capitalize())
            for k, v in st[part].items():
                w.kv(1, k, v)
    info = st.get("nodeInfo") or {}
    w.section(0, "System Info")
    for key, label in _SYSTEM_INFO:
        w.kv(1, label, [str(info.get(key) or "")])
    w.kv(0, "PodCIDR", spec.get("podCIDR"))
    w.kv(0, "PodCIDRs", ",".join(spec.get("podCIDRs") or ([spec["podCIDR"]]
                                                        if spec.get("podCIDR") else [])))
    if spec.get("providerID"):
        w.kv(0, "ProviderID", spec["providerID"])
    try:
        pods = fetch("/api/v1/pods", {"fieldSelector": f"spec.nodeName={meta.get('name')}"})
        items = [p for p in pods.get("items") or []
                 if (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")]
    except Exception:
        items = []
    _node_pods(w, items, st.get("allocatable") or {})


def namespace(w: Writer, o: Obj, fetch: Fetch) -> None:
    header(w, o, namespaced=False)
    w.kv(0, "Status", (o.get("status") or {}).get("phase") or "Active")


def configmap(w: Writer, o: Obj, fetch: Fetch) -> None:
    header(w, o, namespaced=True)
    w.raw(0, "")
    w.raw(0, "Data")
    w.raw(0, "====")
    for k, v in (o.get("data") or {}).items():
        w.raw(0, f"{k}:")
        w.raw(0, "----")
        w.raw(0, str(v))
        w.raw(0, "")
    w.raw(0, "BinaryData")
    w.raw(0, "====")
    for k in o.get("binaryData") or {}:
        w.raw(0, f"{k}: {len(o['binaryData'][k])} bytes")


def secret(w: Writer, o: Obj, fetch: Fetch) -> None:
    header(w, o, namespaced=True)
    w.raw(0, "")
    w.kv(0, "Type", o.get("type") or "Opaque")
    w.raw(0, "")
    w.raw(0, "Data")
    w.raw(0, "====")
    for k, v in (o.get("data") or {}).items():
        try:
            size = len(base64.b64decode(v))
        except ValueError:
            size = len(str(v))
        w.kv(0, k, f"{size} bytes")


def serviceaccount(w: Writer, o: Obj, fetch: Fetch) -> None:
    """kubectl's describeServiceAccount: its image pull secrets, and the secrets it names
    when there are any."""
    header(w, o, namespaced=True)
    pull = [str(r.get("name")) for r in o.get("imagePullSecrets") or []]
    mountable = [str(r.get("name")) for r in o.get("secrets") or []]
    w.kv(0, "Image pull secrets", pull or NONE)
    if mountable:
        w.kv(0, "Mountable secrets", mountable)


DESCRIBERS: dict[str, Callable[[Writer, Obj, Fetch], None]] = {
    "Pod": pod, "Deployment": deployment, "ReplicaSet": replicaset, "DaemonSet": daemonset,
    "ReplicationController": replicaset,  # kubectl's describer prints the same fields
    "StatefulSet": statefulset,
    "Job": job, "CronJob": cronjob, "Service": service, "Node": node, "Namespace": namespace,
    "ConfigMap": configmap, "Secret": secret, "ServiceAccount": serviceaccount,
    "PersistentVolume": persistentvolume, "PersistentVolumeClaim": persistentvolumeclaim,
    "StorageClass": storageclass,
}


def describe(obj: Obj, fetch: Fetch, *, namespaced: bool) -> str:
    w = Writer()
    fn = DESCRIBERS.get(str(obj.get("kind")))
    if fn is not None:
        fn(w, obj, fetch)
    else:
        generic(w, obj, namespaced=namespaced)
    events_section(w, events_for(fetch, obj))
    return w.render()

