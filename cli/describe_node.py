"""``kctl describe node`` as kubectl 1.37's describeNode prints it: lease, conditions,
addresses, capacity, system info, the node's non-terminated pods with their requests
and limits (``describeNodeResource``), and the node's events."""

from __future__ import annotations

from decimal import Decimal

from jetkube.schemas.objects import Obj
from jetkube.schemas.quantity import add_quantities, format_quantity, parse_quantity
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

__all__ = ["node", "pod_requests_and_limits"]

_SYSTEM_INFO = (("machineID", "Machine ID"), ("systemUUID", "System UUID"),
                ("bootID", "Boot ID"), ("kernelVersion", "Kernel Version"),
                ("osImage", "OS Image"), ("operatingSystem", "Operating System"),
                ("architecture", "Architecture"),
                ("containerRuntimeVersion", "Container Runtime Version"),
                ("kubeletVersion", "Kubelet Version"))
_STANDARD = frozenset({"cpu", "memory", "ephemeral-storage", "pods"})
Totals = dict[str, list[str]]


def _sum(quantities: list[str]) -> str:
    if not quantities:
        return "0"
    return format_quantity(add_quantities(*quantities),
                           binary=any("i" in q for q in quantities))


def _max(a: list[str], b: list[str]) -> list[str]:
    if not a:
        return b
    if not b:
        return a
    return a if parse_quantity(_sum(a)) >= parse_quantity(_sum(b)) else b


def pod_requests_and_limits(p: Obj) -> tuple[Totals, Totals]:
    """kubectl's ``PodRequestsAndLimits``: the containers' sum, at least each init
    container's, plus the pod's overhead (each resource as the quantities to add)."""
    spec = p.get("spec") or {}
    out: tuple[Totals, Totals] = ({}, {})
    for c in spec.get("containers") or []:
        res = c.get("resources") or {}
        for part, acc in zip(("requests", "limits"), out, strict=True):
            for k, v in (res.get(part) or {}).items():
                acc.setdefault(k, []).append(str(v))
    for c in spec.get("initContainers") or []:
        res = c.get("resources") or {}
        for part, acc in zip(("requests", "limits"), out, strict=True):
            for k, v in (res.get(part) or {}).items():
                acc[k] = _max(acc.get(k, []), [str(v)])
    for k, v in (spec.get("overhead") or {}).items():
        for acc in out:
            if k in acc:
                acc[k].append(str(v))
    return out


def _value(q: Decimal, milli: bool) -> int:
    """Go's ``Quantity.MilliValue()`` or ``Value()`` (rounded up)."""
    return int((q * 1000 if milli else q).to_integral_value(rounding="ROUND_CEILING"))


def _pct(used: str, alloc: Decimal, milli: bool) -> int:
    """``int64(float64(used) / float64(allocatable) * 100)``, as kubectl computes it."""
    total = _value(alloc, milli)
    if not total:
        return 0
    return int(float(_value(parse_quantity(used), milli)) / float(total) * 100)


def _alloc(allocatable: Obj, name: str) -> Decimal:
    try:
        return parse_quantity(str(allocatable.get(name, "0")))
    except ValueError:
        return Decimal(0)


def _node_resources(w: Writer, pods: list[Obj], node_obj: Obj) -> None:
    st = node_obj.get("status") or {}
    allocatable = st.get("allocatable") or st.get("capacity") or {}
    cpu, mem = _alloc(allocatable, "cpu"), _alloc(allocatable, "memory")
    w.write(0, f"Non-terminated Pods:\t({len(pods)} in total)\n")
    w.write(1, "Namespace\tName\t\tCPU Requests\tCPU Limits\tMemory Requests\tMemory Limits\t"
               "Age\n")
    w.write(1, "---------\t----\t\t------------\t----------\t---------------\t-------------\t"
               "---\n")
    totals: tuple[Totals, Totals] = ({}, {})
    for p in pods:
        reqs, lims = pod_requests_and_limits(p)
        for src, acc in zip((reqs, lims), totals, strict=True):
            for k, v in src.items():
                acc.setdefault(k, []).append(_sum(v))
        cr, cl = _sum(reqs.get("cpu", [])), _sum(lims.get("cpu", []))
        mr, ml = _sum(reqs.get("memory", [])), _sum(lims.get("memory", []))
        md = meta(p)
        w.write(1, f"{md.get('namespace')}\t{md.get('name')}\t\t"
                   f"{cr} ({_pct(cr, cpu, True)}%)\t{cl} ({_pct(cl, cpu, True)}%)\t"
                   f"{mr} ({_pct(mr, mem, False)}%)\t{ml} ({_pct(ml, mem, False)}%)\t"
                   f"{age(md.get('creationTimestamp'))}\n")
    w.write(0, "Allocated resources:\n  (Total limits may be over 100 percent, i.e., "
               "overcommitted.)\n")
    w.write(1, "Resource\tRequests\tLimits\n")
    w.write(1, "--------\t--------\t------\n")
    reqs, lims = totals
    for name, milli in (("cpu", True), ("memory", False), ("ephemeral-storage", False)):
        r, lim = _sum(reqs.get(name, [])), _sum(lims.get(name, []))
        cap = _alloc(allocatable, name)
        w.write(1, f"{name}\t{r} ({_pct(r, cap, milli)}%)\t{lim} ({_pct(lim, cap, milli)}%)\n")
    huge = sorted(k for k in allocatable if k.startswith("hugepages-"))
    ext = sorted(k for k in allocatable if k not in _STANDARD and not k.startswith("hugepages-")
                 and "/" in k)
    for name in huge:
        r, lim = _sum(reqs.get(name, [])), _sum(lims.get(name, []))
        cap = _alloc(allocatable, name)
        w.write(1, f"{name}\t{r} ({_pct(r, cap, False)}%)\t{lim} ({_pct(lim, cap, False)}%)\n")
    for name in ext:
        w.write(1, f"{name}\t{_sum(reqs.get(name, []))}\t{_sum(lims.get(name, []))}\n")


def _roles(o: Obj) -> str:
    roles = set()
    for k, v in (meta(o).get("labels") or {}).items():
        if k.startswith("node-role.kubernetes.io/") and k.split("/", 1)[1]:
            roles.add(k.split("/", 1)[1])
        elif k == "kubernetes.io/role" and v:
            roles.add(str(v))
    return ",".join(sorted(roles)) or NONE


def _taint(t: Obj) -> str:
    text = str(t.get("key") or "")
    if t.get("value"):
        text += f"={t['value']}"
    return f"{text}:{t['effect']}" if t.get("effect") else text


def _lease(w: Writer, fetch: Fetch, name: str) -> None:
    try:
        lease = fetch(f"/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/{name}",
                      {})
    except Exception:  # kubectl prints why
        w.write(0, f'Lease:\tFailed to get lease: leases.coordination.k8s.io "{name}" not found\n')
        return
    ls = lease.get("spec") or {}
    w.write(0, "Lease:\n")
    w.write(1, f"HolderIdentity:\t{ls.get('holderIdentity') or '<unset>'}\n")
    for key, label in (("acquireTime", "AcquireTime"), ("renewTime", "RenewTime")):
        w.write(1, f"{label}:\t{rfc1123z(ls[key]) if ls.get(key) else '<unset>'}\n")


def node(w: Writer, o: Obj, fetch: Fetch) -> None:
    md, spec, st = meta(o), o.get("spec") or {}, o.get("status") or {}
    name = str(md.get("name"))
    w.write(0, f"Name:\t{name}\n")
    w.write(0, f"Roles:\t{_roles(o)}\n")
    labels_multiline(w, "Labels", md.get("labels"))
    annotations_multiline(w, "Annotations", md.get("annotations"))
    w.write(0, f"CreationTimestamp:\t{rfc1123z(md.get('creationTimestamp'))}\n")
    taints = sorted(spec.get("taints") or [],
                    key=lambda t: f"{t.get('effect') or ''},{t.get('key') or ''}")
    w.write(0, "Taints:\t")
    if not taints:
        w.line(NONE)
    for i, t in enumerate(taints):
        w.write(0, ("\t" if i else "") + f"{_taint(t)}\n")
    w.write(0, f"Unschedulable:\t{'true' if spec.get('unschedulable') else 'false'}\n")
    _lease(w, fetch, name)
    if st.get("conditions"):
        w.write(0, "Conditions:\n  Type\tStatus\tLastHeartbeatTime\tLastTransitionTime\tReason\t"
                   "Message\n")
        w.write(1, "----\t------\t-----------------\t------------------\t------\t-------\n")
        for c in st["conditions"]:
            w.write(1, f"{c.get('type')} \t{c.get('status')} \t"
                       f"{rfc1123z(c.get('lastHeartbeatTime'))} \t"
                       f"{rfc1123z(c.get('lastTransitionTime'))} \t{c.get('reason') or ''} \t"
                       f"{c.get('message') or ''}\n")
    w.write(0, "Addresses:\n")
    for a in st.get("addresses") or []:
        w.write(1, f"{a.get('type')}:\t{a.get('address')}\n")
    for part in ("capacity", "allocatable"):
        if st.get(part):
            w.write(0, f"{part.capitalize()}:\n")
            for k in sorted(st[part]):
                w.write(0, f"  {k}:\t{st[part][k]}\n")
    info = st.get("nodeInfo") or {}
    w.write(0, "System Info:\n")
    for key, label in _SYSTEM_INFO:
        w.write(0, f"  {label}:\t{info.get(key) or ''}\n")
    if spec.get("podCIDR"):
        w.write(0, f"PodCIDR:\t{spec['podCIDR']}\n")
    if spec.get("podCIDRs"):
        w.write(0, f"PodCIDRs:\t{','.join(spec['podCIDRs'])}\n")
    if spec.get("providerID"):
        w.write(0, f"ProviderID:\t{spec['providerID']}\n")
    try:
        lst = fetch("/api/v1/pods", {"fieldSelector": f"spec.nodeName={name}"})
    except Exception:  # as kubectl when it may not list pods
        w.write(0, "Pods:\tnot authorized\n")
    else:
        pods = [p for p in lst.get("items") or []
                if (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")
                and (p.get("spec") or {}).get("nodeName") == name]
        _node_resources(w, pods, o)
    describe_events(w, events_for(fetch, o))
