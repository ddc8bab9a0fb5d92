"""Per-kind ``kctl describe`` sections (Pod, Deployment, ReplicaSet, Service, Node…).

Each describer writes kubectl's sections for its kind; every other kind gets
the generic describer.  All of them end with the object's Events.
"""

from __future__ import annotations

import base64
from collections.abc import Callable

from .describe import (
    NONE,
    Fetch,
    Obj,
    Writer,
    events_for,
    events_section,
    generic,
    header,
    map_lines,
)
from .rows import endpoints_string, node_roles, pod_status, selector_string
from .tables import render
from .timefmt import age, describe_time


def _containers(w: Writer, level: int, containers: list[Obj], statuses: list[Obj]) -> None:
    by_name = {s.get("name"): s for s in statuses}
    for c in containers:
        w.section(level, str(c.get("name")))
        lv = level + 1
        st = by_name.get(c.get("name"))
        if st is not None:
            w.kv(lv, "Container ID", st.get("containerID"))
        w.kv(lv, "Image", c.get("image"))
        if st is not None:
            w.kv(lv, "Image ID", st.get("imageID"))
        ports = c.get("ports") or []
        w.kv(lv, "Port" if len(ports) < 2 else "Ports",
             ", ".join(f"{p.get('containerPort')}/{p.get('protocol') or 'TCP'}" for p in ports)
             or NONE)
        if c.get("command"):
            w.section(lv, "Command")
            for part in c["command"]:
                w.raw(lv + 1, str(part))
        if c.get("args"):
            w.section(lv, "Args")
            for part in c["args"]:
                w.raw(lv + 1, str(part))
        if st is not None:
            _state(w, lv, "State", st.get("state") or {})
            if st.get("lastState"):
                _state(w, lv, "Last State", st["lastState"])
            w.kv(lv, "Ready", "True" if st.get("ready") else "False")
            w.kv(lv, "Restart Count", st.get("restartCount", 0))
        res = c.get("resources") or {}
        for part in ("limits", "requests"):
            if res.get(part):
                w.section(lv, part.capitalize())
                for k, v in res[part].items():
                    w.kv(lv + 1, k, v)
        env = c.get("env") or []
        if env:
            w.section(lv, "Environment")
            for e in env:
                src = e.get("valueFrom")
                w.kv(lv + 1, str(e.get("name")),
                     e.get("value") if src is None else f"<set from {next(iter(src), '?')}>")
        else:
            w.kv(lv, "Environment", NONE)
        mounts = [f"{m.get('mountPath')} from {m.get('name')} "
                  f"({'ro' if m.get('readOnly') else 'rw'})" for m in c.get("volumeMounts") or []]
        if mounts:
            w.section(lv, "Mounts")
            for m in mounts:
                w.raw(lv + 1, m)
        else:
            w.kv(lv, "Mounts", NONE)


def _state(w: Writer, level: int, key: str, state: Obj) -> None:
    if state.get("running") is not None:
        w.kv(level, key, "Running")
        w.kv(level + 1, "Started", describe_time(state["running"].get("startedAt")))
    elif state.get("waiting") is not None:
        w.kv(level, key, "Waiting")
        w.kv(level + 1, "Reason", state["waiting"].get("reason"))
    elif state.get("terminated") is not None:
        t = state["terminated"]
        w.kv(level, key, "Terminated")
        w.kv(level + 1, "Reason", t.get("reason"))
        w.kv(level + 1, "Exit Code", t.get("exitCode", 0))
        w.kv(level + 1, "Started", describe_time(t.get("startedAt")))
        w.kv(level + 1, "Finished", describe_time(t.get("finishedAt")))
    else:
        w.kv(level, key, "Waiting")


def _conditions(w: Writer, conds: list[Obj]) -> None:
    if not conds:
        return
    w.section(0, "Conditions")
    width = max([len("Type")] + [len(str(c.get("type"))) for c in conds]) + 2
    w.raw(1, f"{'Type'.ljust(width)}Status")
    for c in conds:
        w.raw(1, f"{str(c.get('type')).ljust(width)}{c.get('status')}")


def _volumes(w: Writer, volumes: list[Obj]) -> None:
    if not volumes:
        w.kv(0, "Volumes", NONE)
        return
    w.section(0, "Volumes")
    for v in volumes:
        w.section(1, str(v.get("name")))
        kind = next((k for k in v if k != "name"), "")
        w.kv(2, "Type", kind)
        src = v.get(kind)
        if isinstance(src, dict):
            for k, val in src.items():
                if not isinstance(val, (dict, list)):
                    w.kv(2, k[:1].upper() + k[1:], val)


def pod(w: Writer, o: Obj, fetch: Fetch) -> None:
    meta, spec, st = o.get("metadata") or {}, o.get("spec") or {}, o.get("status") or {}
    header(w, o, namespaced=True)
    w.kv(0, "Priority", spec.get("priority", 0))
    w.kv(0, "Service Account", spec.get("serviceAccountName") or "default")
    node = spec.get("nodeName")
    w.kv(0, "Node", f"{node}/{st.get('hostIP')}" if node and st.get("hostIP") else node or NONE)
    w.kv(0, "Start Time", describe_time(st.get("startTime")) if st.get("startTime") else NONE)
    reason, _, _, _ = pod_status(o)
    w.kv(0, "Status", reason if meta.get("deletionTimestamp") else st.get("phase") or "Pending")
    if st.get("reason"):
        w.kv(0, "Reason", st.get("reason"))
    w.kv(0, "IP", st.get("podIP"))
    owners = meta.get("ownerReferences") or []
    ctl = next((r for r in owners if r.get("controller")), None)
    if ctl:
        w.kv(0, "Controlled By", f"{ctl.get('kind')}/{ctl.get('name')}")
    if spec.get("initContainers"):
        w.section(0, "Init Containers")
        _containers(w, 1, spec["initContainers"], st.get("initContainerStatuses") or [])
    w.section(0, "Containers")
    _containers(w, 1, spec.get("containers") or [], st.get("containerStatuses") or [])
    _conditions(w, st.get("conditions") or [])
    _volumes(w, spec.get("volumes") or [])
    w.kv(0, "QoS Class", st.get("qosClass") or "BestEffort")
    w.kv(0, "Node-Selectors", map_lines(spec.get("nodeSelector")))
    tols = [_toleration(t) for t in spec.get("tolerations") or []]
    w.kv(0, "Tolerations", tols or NONE)


def _toleration(t: Obj) -> str:
    """kubectl's form: ``key=value:Effect op=Exists for 300s``."""
    text = str(t.get("key") or "")
    if t.get("value"):
        text += f"={t['value']}"
    if t.get("effect"):
        text += f":{t['effect']}"
    if t.get("operator") == "Exists" and not t.get("value"):
        text += " op=Exists" if text else "op=Exists"
    if t.get("tolerationSeconds") is not None:
        text += f" for {t['tolerationSeconds']}s"
    return text


def _template(w: Writer, tmpl: Obj) -> None:
    w.section(0, "Pod Template")
    tmeta, tspec = tmpl.get("metadata") or {}, tmpl.get("spec") or {}
    w.kv(1, "Labels", map_lines(tmeta.get("labels")))
    w.section(1, "Containers")
    _containers(w, 2, tspec.get("containers") or [], [])
    vols = tspec.get("volumes") or []
    w.kv(1, "Volumes", [v.get("name") for v in vols] or NONE)


def deployment(w: Writer, o: Obj, fetch: Fetch) -> None:
    meta, spec, st = o.get("metadata") or {}, o.get("spec") or {}, o.get("status") or {}
    header(w, o, namespaced=True)
    w.kv(0, "CreationTimestamp", describe_time(meta.get("creationTimestamp")))
    w.kv(0, "Selector", selector_string(spec.get("selector")))
    want = spec.get("replicas", 1)
    w.kv(0, "Replicas", f"{want} desired | {st.get('updatedReplicas', 0)} updated | "
         f"{st.get('replicas', 0)} total | {st.get('availableReplicas', 0)} available | "
         f"{st.get('unavailableReplicas', 0)} unavailable")
    strategy = spec.get("strategy") or {}
    w.kv(0, "StrategyType", strategy.get("type") or "RollingUpdate")
    w.kv(0, "MinReadySeconds", spec.get("minReadySeconds", 0))
    ru = strategy.get("rollingUpdate") or {}
    if (strategy.get("type") or "RollingUpdate") == "RollingUpdate":
        w.kv(0, "RollingUpdateStrategy", f"{ru.get('maxUnavailable', '25%')} max unavailable, "
             f"{ru.get('maxSurge', '25%')} max surge")
    _template(w, spec.get("template") or {})
    conds = st.get("conditions") or []
    if conds:
        w.section(0, "Conditions")
        width = max(len(str(c.get("type"))) for c in [*conds, {"type": "Type"}]) + 2
        w.raw(1, f"{'Type'.ljust(width)}Status  Reason")
        w.raw(1, f"{'----'.ljust(width)}------  ------")
        for c in conds:
            w.raw(1, f"{str(c.get('type')).ljust(width)}{str(c.get('status')).ljust(8)}"
                     f"{c.get('reason', '')}")
    rs = _owned(fetch, o, "/apis/apps/v1/namespaces/{ns}/replicasets")
    newest = max(rs, key=lambda r: int(((r.get("metadata") or {}).get("annotations") or {})
                                        .get("deployment.kubernetes.io/revision", 0) or 0),
                 default=None)
    if newest is not None:
        nm = newest.get("metadata") or {}
        have = (newest.get("status") or {}).get("replicas", 0)
        want = (newest.get("spec") or {}).get("replicas", 0)
        w.kv(0, "NewReplicaSet", f"{nm.get('name')} ({have}/{want} replicas created)")
    else:
        w.kv(0, "NewReplicaSet", NONE)


def _owned(fetch: Fetch, owner: Obj, path_tmpl: str) -> list[Obj]:
    meta = owner.get("metadata") or {}
    try:
        lst = fetch(path_tmpl.format(ns=meta.get("namespace")), {})
    except Exception:
        return []
    return [r for r in lst.get("items") or []
            if any(ref.get("uid") == meta.get("uid")
                   for ref in (r.get("metadata") or {}).get("ownerReferences") or [])]


def replicaset(w: Writer, o: Obj, fetch: Fetch) -> None:
    meta, spec, st = o.get("metadata") or {}, o.get("spec") or {}, o.get("status") or {}
    header(w, o, namespaced=True)
    w.kv(0, "Selector", selector_string(spec.get("selector")))
    ctl = next((r for r in meta.get("ownerReferences") or [] if r.get("controller")), None)
    if ctl:
        w.kv(0, "Controlled By", f"{ctl.get('kind')}/{ctl.get('name')}")
    w.kv(0, "Replicas", f"{st.get('replicas', 0)} current / {spec.get('replicas', 1)} desired")
    pods = _owned(fetch, o, "/api/v1/namespaces/{ns}/pods")
    phases = [(p.get("status") or {}).get("phase") for p in pods]
    w.kv(0, "Pods Status", f"{phases.count('Running')} Running / {phases.count('Pending')} Waiting"
         f" / {phases.count('Succeeded')} Succeeded / {phases.count('Failed')} Failed")
    _template(w, spec.get("template") or {})


def service(w: Writer, o: Obj, fetch: Fetch) -> None:
    meta, spec = o.get("metadata") or {}, o.get("spec") or {}
    header(w, o, namespaced=True)
    w.kv(0, "Selector", map_lines(spec.get("selector")))
    w.kv(0, "Type", spec.get("type") or "ClusterIP")
    w.kv(0, "IP Family Policy", spec.get("ipFamilyPolicy") or "SingleStack")
    w.kv(0, "IP", spec.get("clusterIP"))
    eps: Obj = {}
    try:
        eps = fetch(f"/api/v1/namespaces/{meta.get('namespace')}/endpoints/{meta.get('name')}", {})
    except Exception:
        eps = {}
    for p in spec.get("ports") or []:
        name = p.get("name") or "<unset>"
        w.kv(0, "Port", f"{name}  {p.get('port')}/{p.get('protocol') or 'TCP'}")
        w.kv(0, "TargetPort", f"{p.get('targetPort', p.get('port'))}/{p.get('protocol') or 'TCP'}")
        if p.get("nodePort"):
            w.kv(0, "NodePort", f"{name}  {p['nodePort']}/{p.get('protocol') or 'TCP'}")
        w.kv(0, "Endpoints", endpoints_string(eps, limit=10) if eps else NONE)
    w.kv(0, "Session Affinity", spec.get("sessionAffinity") or "None")


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
    conds = st.get("conditions") or []
    if conds:
        w.section(0, "Conditions")
        rows = [[str(c.get("type")), str(c.get("status")), age(c.get("lastHeartbeatTime")),
                 str(c.get("reason") or ""), str(c.get("message") or "")] for c in conds]
        for line in render(["Type", "Status", "LastHeartbeat", "Reason", "Message"], rows,
                           pad=2, min_width=0):
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
    if info:
        w.section(0, "System Info")
        for k, v in info.items():
            w.kv(1, k[:1].upper() + k[1:], v)
    w.kv(0, "PodCIDR", spec.get("podCIDR"))
    try:
        pods = fetch("/api/v1/pods", {"fieldSelector": f"spec.nodeName={meta.get('name')}"})
        items = [p for p in pods.get("items") or []
                 if (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")]
    except Exception:
        items = []
    w.kv(0, "Non-terminated Pods", f"({len(items)} in total)")


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


DESCRIBERS: dict[str, Callable[[Writer, Obj, Fetch], None]] = {
    "Pod": pod, "Deployment": deployment, "ReplicaSet": replicaset, "Service": service,
    "Node": node, "Namespace": namespace, "ConfigMap": configmap, "Secret": secret,
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

