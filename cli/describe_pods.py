"""Pod-level ``kctl describe`` pieces: containers, states, volumes, tolerations,
the Pod describer and kubectl's ``Pod Template:`` section (which Deployments,
ReplicaSets, DaemonSets, Jobs and ``rollout history --revision`` print).
"""

from __future__ import annotations

from jetkube.schemas.objects import Obj
from jetkube.services.machinery.printers import describe_time, pod_status

from .describe import NONE, Fetch, Writer, header, map_lines


def containers(w: Writer, level: int, specs: list[Obj], statuses: list[Obj]) -> None:
    """Each container as kubectl lists them (with its status when there is one)."""
    by_name = {s.get("name"): s for s in statuses}
    for c in specs:
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
        if kind == "projected":
            _projected(w, v[kind] or {})
            continue
        w.kv(2, "Type", kind)
        src = v.get(kind)
        if isinstance(src, dict):
            for k, val in src.items():
                if not isinstance(val, (dict, list)):
                    w.kv(2, k[:1].upper() + k[1:], val)


def _projected(w: Writer, src: Obj) -> None:
    """kubectl's printProjectedVolumeSource: a line or two per source."""
    w.kv(2, "Type", "Projected (a volume that contains injected data from multiple sources)")
    for part in src.get("sources") or []:
        if part.get("secret") is not None:
            w.kv(2, "SecretName", part["secret"].get("name"))
            w.kv(2, "SecretOptionalName", str(part["secret"].get("optional", "<nil>")))
        elif part.get("downwardAPI") is not None:
            w.kv(2, "DownwardAPI", "true")
        elif part.get("configMap") is not None:
            w.kv(2, "ConfigMapName", part["configMap"].get("name"))
            w.kv(2, "ConfigMapOptional", str(part["configMap"].get("optional", "<nil>")))
        elif part.get("serviceAccountToken") is not None:
            w.kv(2, "TokenExpirationSeconds",
                 part["serviceAccountToken"].get("expirationSeconds", 3600))


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
        containers(w, 1, spec["initContainers"], st.get("initContainerStatuses") or [])
    w.section(0, "Containers")
    containers(w, 1, spec.get("containers") or [], st.get("containerStatuses") or [])
    _conditions(w, st.get("conditions") or [])
    _volumes(w, spec.get("volumes") or [])
    w.kv(0, "QoS Class", st.get("qosClass") or "BestEffort")
    w.kv(0, "Node-Selectors", map_lines(spec.get("nodeSelector")))
    tols = [toleration(t) for t in spec.get("tolerations") or []]
    w.kv(0, "Tolerations", tols or NONE)


def toleration(t: Obj) -> str:
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


def pod_template(w: Writer, tmpl: Obj, level: int = 0) -> None:
    """kubectl's ``DescribePodTemplate``."""
    w.section(level, "Pod Template")
    tmeta, tspec = tmpl.get("metadata") or {}, tmpl.get("spec") or {}
    lv = level + 1
    w.kv(lv, "Labels", map_lines(tmeta.get("labels")))
    if tmeta.get("annotations"):
        w.kv(lv, "Annotations", map_lines(tmeta["annotations"], ": "))
    if tspec.get("serviceAccountName"):
        w.kv(lv, "Service Account", tspec["serviceAccountName"])
    if tspec.get("initContainers"):
        w.section(lv, "Init Containers")
        containers(w, lv + 1, tspec["initContainers"], [])
    w.section(lv, "Containers")
    containers(w, lv + 1, tspec.get("containers") or [], [])
    vols = tspec.get("volumes") or []
    w.kv(lv, "Volumes", [v.get("name") for v in vols] or NONE)
    if tspec.get("priorityClassName"):
        w.kv(lv, "Priority Class Name", tspec["priorityClassName"])
    w.kv(lv, "Node-Selectors", map_lines(tspec.get("nodeSelector")))
    w.kv(lv, "Tolerations", [toleration(t) for t in tspec.get("tolerations") or []] or NONE)
