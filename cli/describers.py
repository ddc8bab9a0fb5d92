"""Per-kind ``kctl describe`` and the dispatch by kind.

Pods live in :mod:`.describe_pods`, workloads in :mod:`.describe_workloads`, volumes and
classes in :mod:`.describe_storage`, Nodes in :mod:`.describe_node`; this module has
Service, Endpoints, Namespace, ConfigMap, Secret and ServiceAccount, each in kubectl's
format strings.  Every other kind gets kubectl's generic describer.
"""

from __future__ import annotations

import base64
from collections.abc import Callable

from jetkube.schemas.objects import Obj

from .describe import (
    NONE,
    Fetch,
    Writer,
    annotations_multiline,
    describe_events,
    events_for,
    generic,
    labels_multiline,
    meta,
    rfc1123z,
)
from .describe_node import node
from .describe_pods import pod, pod_template
from .describe_storage import persistentvolume, persistentvolumeclaim, storageclass
from .describe_workloads import cronjob, daemonset, deployment, job, replicaset, statefulset

__all__ = ["DESCRIBERS", "describe", "pod_template"]


def _head(w: Writer, o: Obj) -> None:
    md = meta(o)
    w.write(0, f"Name:\t{md.get('name', '')}\n")
    w.write(0, f"Namespace:\t{md.get('namespace', '')}\n")
    labels_multiline(w, "Labels", md.get("labels"))
    annotations_multiline(w, "Annotations", md.get("annotations"))


def _endpoint_slices(fetch: Fetch, o: Obj) -> list[Obj]:
    md = meta(o)
    try:
        lst = fetch(f"/apis/discovery.k8s.io/v1/namespaces/{md.get('namespace')}/endpointslices",
                    {"labelSelector": f"kubernetes.io/service-name={md.get('name')}"})
    except Exception:  # kubectl ignores the error too
        return []
    return list(lst.get("items") or [])


def format_endpoint_slices(slices: list[Obj], port_name: str) -> str:
    """kubectl's ``formatEndpointSlices`` for one port name: ready addresses, at most 3."""
    if not slices:
        return NONE
    found: list[str] = []
    count, more = 0, False
    for s in slices:
        ports = s.get("ports") or []
        groups = [None] if not ports else [p for p in ports if (p.get("name") or "") == port_name]
        for port in groups:
            for ep in s.get("endpoints") or []:
                if len(found) == 3:
                    more = True
                if (ep.get("conditions") or {}).get("ready") is False:
                    continue
                if not more:
                    addr = (ep.get("addresses") or [""])[0]
                    found.append(addr if port is None else
                                 (f"[{addr}]" if ":" in addr else addr) + f":{port.get('port')}")
                count += 1
    text = ",".join(found)
    return f"{text} + {count - 3} more..." if more else text


def service(w: Writer, o: Obj, fetch: Fetch) -> None:
    spec, st = o.get("spec") or {}, o.get("status") or {}
    slices = _endpoint_slices(fetch, o)
    _head(w, o)
    sel = spec.get("selector") or {}
    w.write(0, f"Selector:\t{','.join(f'{k}={v}' for k, v in sorted(sel.items()))}\n")
    w.write(0, f"Type:\t{spec.get('type') or ''}\n")
    if spec.get("ipFamilyPolicy"):
        w.write(0, f"IP Family Policy:\t{spec['ipFamilyPolicy']}\n")
    w.write(0, f"IP Families:\t{','.join(spec.get('ipFamilies') or []) or NONE}\n")
    w.write(0, f"IP:\t{spec.get('clusterIP') or ''}\n")
    w.write(0, f"IPs:\t{','.join(spec.get('clusterIPs') or []) or NONE}\n")
    if spec.get("externalIPs"):
        w.write(0, f"External IPs:\t{','.join(spec['externalIPs'])}\n")
    if spec.get("loadBalancerIP"):
        w.write(0, f"Desired LoadBalancer IP:\t{spec['loadBalancerIP']}\n")
    if spec.get("externalName"):
        w.write(0, f"External Name:\t{spec['externalName']}\n")
    ingress = (st.get("loadBalancer") or {}).get("ingress") or []
    if ingress:
        w.write(0, "LoadBalancer Ingress:\t" + ", ".join(
            (f"{i['ip']} ({i['ipMode']})" if i.get("ipMode") else str(i["ip"])) if i.get("ip")
            else str(i.get("hostname") or "") for i in ingress) + "\n")
    for p in spec.get("ports") or []:
        name = p.get("name") or "<unset>"
        proto = p.get("protocol") or "TCP"
        w.write(0, f"Port:\t{name}\t{p.get('port')}/{proto}\n")
        w.write(0, f"TargetPort:\t{p.get('targetPort', p.get('port'))}/{proto}\n")
        if p.get("nodePort"):
            w.write(0, f"NodePort:\t{name}\t{p['nodePort']}/{proto}\n")
        w.write(0, f"Endpoints:\t{format_endpoint_slices(slices, p.get('name') or '')}\n")
    w.write(0, f"Session Affinity:\t{spec.get('sessionAffinity') or ''}\n")
    for key, label in (("externalTrafficPolicy", "External Traffic Policy"),
                       ("internalTrafficPolicy", "Internal Traffic Policy"),
                       ("healthCheckNodePort", "HealthCheck NodePort")):
        if spec.get(key):
            w.write(0, f"{label}:\t{spec[key]}\n")
    if spec.get("loadBalancerSourceRanges"):
        w.write(0, f"LoadBalancer Source Ranges:\t{','.join(spec['loadBalancerSourceRanges'])}\n")
    if spec.get("trafficDistribution"):
        w.write(0, f"Traffic Distribution:\t{spec['trafficDistribution']}\n")
    describe_events(w, events_for(fetch, o))


def endpoints(w: Writer, o: Obj, fetch: Fetch) -> None:
    _head(w, o)
    w.write(0, "Subsets:\n")
    for s in o.get("subsets") or []:
        ready = ",".join(str(a.get("ip")) for a in s.get("addresses") or []) or NONE
        w.write(1, f"Addresses:\t{ready}\n")
        not_ready = ",".join(str(a.get("ip")) for a in s.get("notReadyAddresses") or []) or NONE
        w.write(1, f"NotReadyAddresses:\t{not_ready}\n")
        if s.get("ports"):
            w.write(1, "Ports:\n")
            w.write(2, "Name\tPort\tProtocol\n")
            w.write(2, "----\t----\t--------\n")
            for p in s["ports"]:
                w.write(2, f"{p.get('name') or '<unset>'}\t{p.get('port')}\t"
                           f"{p.get('protocol') or 'TCP'}\n")
        w.write(0, "\n")
    describe_events(w, events_for(fetch, o))


def namespace(w: Writer, o: Obj, fetch: Fetch) -> None:
    md, st = meta(o), o.get("status") or {}
    w.write(0, f"Name:\t{md.get('name')}\n")
    labels_multiline(w, "Labels", md.get("labels"))
    annotations_multiline(w, "Annotations", md.get("annotations"))
    w.write(0, f"Status:\t{st.get('phase') or ''}\n")
    if st.get("conditions"):
        w.write(0, "Conditions:\n")
        w.write(1, "Type\tStatus\tLastTransitionTime\tReason\tMessage\n")
        w.write(1, "----\t------\t------------------\t------\t-------\n")
        for c in st["conditions"]:
            w.write(1, f"{c.get('type')}\t{c.get('status')}\t"
                       f"{rfc1123z(c.get('lastTransitionTime'))}\t{c.get('reason') or ''}\t"
                       f"{c.get('message') or ''}\n")
    for resource, none_text in (("resourcequotas", "No resource quota.\n"),
                                ("limitranges", "No LimitRange resource.\n")):
        try:
            lst = fetch(f"/api/v1/namespaces/{md.get('name')}/{resource}", {})
        except Exception:  # the server does not serve it: kubectl leaves the part out
            continue
        w.write(0, "\n")
        items = sorted(lst.get("items") or [], key=lambda q: str(meta(q).get("name")))
        if not items:
            w.write(0, none_text)
        elif resource == "resourcequotas":
            _quotas(w, items)
        else:
            w.write(0, "Resource Limits\n Type\tResource\tMin\tMax\tDefault Request\t"
                       "Default Limit\tMax Limit/Request Ratio\n")
            w.write(0, " ----\t--------\t---\t---\t---------------\t-------------\t"
                       "-----------------------\n")


def _quotas(w: Writer, items: list[Obj]) -> None:
    w.write(0, "Resource Quotas\n")
    for q in items:
        w.write(1, f"Name:\t{meta(q).get('name')}\n")
        w.write(1, "Resource\tUsed\tHard\n")
        w.write(1, "--------\t---\t---\n")
        hard = (q.get("status") or {}).get("hard") or {}
        used = (q.get("status") or {}).get("used") or {}
        for r in sorted(hard):
            w.write(1, f"{r}\t{used.get(r, '0')}\t{hard[r]}\n")


def resourcequota(w: Writer, o: Obj, fetch: Fetch) -> None:
    """describeQuota: the scopes and each resource's used and hard amounts."""
    md, spec, st = meta(o), o.get("spec") or {}, o.get("status") or {}
    w.write(0, f"Name:\t{md.get('name')}\n")
    w.write(0, f"Namespace:\t{md.get('namespace')}\n")
    scopes = sorted(str(s) for s in spec.get("scopes") or [])
    if scopes:
        w.write(0, f"Scopes:\t{', '.join(scopes)}\n")
        for scope in scopes:
            if scope in _SCOPE_HELP:
                w.write(0, f" * {_SCOPE_HELP[scope]}\n")
    w.write(0, "Resource\tUsed\tHard\n")
    w.write(0, "--------\t----\t----\n")
    hard, used = st.get("hard") or {}, st.get("used") or {}
    for r in sorted(hard):
        w.write(0, f"{r}\t{used.get(r, '0')}\t{hard[r]}\n")


_SCOPE_HELP = {
    "Terminating": "Matches all pods that have an active deadline. These pods have a limited "
                   "lifespan on a node before being actively terminated by the system.",
    "NotTerminating": "Matches all pods that do not have an active deadline. These pods usually "
                      "include long running pods whose container command is not expected to "
                      "terminate.",
    "BestEffort": "Matches all pods that do not have resource requirements set. These pods have "
                  "a best effort quality of service.",
    "NotBestEffort": "Matches all pods that have at least one resource requirement set. These "
                     "pods have a burstable or guaranteed quality of service.",
}


def configmap(w: Writer, o: Obj, fetch: Fetch) -> None:
    _head(w, o)
    w.write(0, "\nData\n====\n")
    data = o.get("data") or {}
    for k in sorted(data):
        w.write(0, f"{k}:\n----\n")
        w.write(0, f"{data[k]}\n")
        w.write(0, "\n")
    w.write(0, "\nBinaryData\n====\n")
    binary = o.get("binaryData") or {}
    for k in sorted(binary):
        w.write(0, f"{k}: {len(base64.b64decode(binary[k]))} bytes\n")
    w.write(0, "\n")
    describe_events(w, events_for(fetch, o) or [])


def secret(w: Writer, o: Obj, fetch: Fetch) -> None:
    _head(w, o)
    w.write(0, f"\nType:\t{o.get('type') or ''}\n")
    w.write(0, "\nData\n====\n")
    data = o.get("data") or {}
    for k in sorted(data):
        try:
            raw = base64.b64decode(data[k])
        except ValueError:
            raw = str(data[k]).encode()
        if k == "token" and o.get("type") == "kubernetes.io/service-account-token":
            w.write(0, f"{k}:\t{raw.decode(errors='replace')}\n")
        else:
            w.write(0, f"{k}:\t{len(raw)} bytes\n")


def serviceaccount(w: Writer, o: Obj, fetch: Fetch) -> None:
    _head(w, o)
    for header, refs in (("Image pull secrets:", o.get("imagePullSecrets")),
                         ("Mountable secrets: ", o.get("secrets"))):
        names = [str(r.get("name")) for r in refs or []]
        if not names:
            if header.startswith("Mountable"):  # kubectl 1.37 lists them only when there are
                continue
            w.write(0, f"{header}\t<none>\n")
            continue
        prefix = header
        for n in names:
            w.write(0, f"{prefix}\t{n}\n")
            prefix = " " * len(header)
    describe_events(w, events_for(fetch, o))


DESCRIBERS: dict[str, Callable[[Writer, Obj, Fetch], None]] = {
    "Pod": pod, "Deployment": deployment, "ReplicaSet": replicaset, "DaemonSet": daemonset,
    "ReplicationController": replicaset, "StatefulSet": statefulset,
    "Job": job, "CronJob": cronjob, "Service": service, "Node": node, "Namespace": namespace,
    "ConfigMap": configmap, "Secret": secret, "ServiceAccount": serviceaccount,
    "Endpoints": endpoints, "ResourceQuota": resourcequota,
    "PersistentVolume": persistentvolume, "PersistentVolumeClaim": persistentvolumeclaim,
    "StorageClass": storageclass,
}


def describe(obj: Obj, fetch: Fetch, *, namespaced: bool = True) -> str:
    """kubectl's description of ``obj`` (without the final newline)."""
    w = Writer()
    DESCRIBERS.get(str(obj.get("kind")), generic)(w, obj, fetch)
    return w.render()
