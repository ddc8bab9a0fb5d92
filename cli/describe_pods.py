"""Pod-level ``kctl describe`` pieces, as kubectl's describePod writes them: containers
(ports, command, state, resources, probes, environment, mounts), volumes, tolerations,
and ``DescribePodTemplate`` (which Deployments, ReplicaSets, DaemonSets, StatefulSets,
Jobs, CronJobs and ``rollout history --revision`` print).
"""

from __future__ import annotations

import re
from typing import Any

from jetkube.schemas.objects import Obj
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
from .describe_volumes import volumes

__all__ = ["containers", "pod", "pod_template", "tolerations_multiline"]


def _ports(ports: list[Obj], field: str) -> str:
    out = []
    for p in ports:
        text = f"{p.get(field) or 0}/{p.get('protocol') or 'TCP'}"
        out.append(f"{text} ({p['name']})" if p.get("name") else text)
    return ", ".join(out)


def _probe(p: Obj) -> str:
    attrs = (f"delay={p.get('initialDelaySeconds', 0)}s timeout={p.get('timeoutSeconds', 1)}s "
             f"period={p.get('periodSeconds', 10)}s successThreshold={p.get('successThreshold', 1)} "
             f"failureThreshold={p.get('failureThreshold', 3)}")
    if p.get("exec") is not None:
        return f"exec [{' '.join(p['exec'].get('command') or [])}] {attrs}"
    if p.get("httpGet") is not None:
        h = p["httpGet"]
        scheme = str(h.get("scheme") or "HTTP").lower()
        return f"http-get {scheme}://{h.get('host') or ''}:{h.get('port')}{h.get('path') or ''} " \
               f"{attrs}"
    if p.get("tcpSocket") is not None:
        t = p["tcpSocket"]
        return f"tcp-socket {t.get('host') or ''}:{t.get('port')} {attrs}"
    if p.get("grpc") is not None:
        return f"grpc <pod>:{p['grpc'].get('port')} {p['grpc'].get('service') or ''} {attrs}"
    return f"unknown {attrs}"


def _state(w: Writer, name: str, state: Obj) -> None:
    if state.get("running") is not None:
        w.write(2, f"{name}:\tRunning\n")
        w.write(3, f"Started:\t{rfc1123z(state['running'].get('startedAt'))}\n")
    elif state.get("waiting") is not None:
        w.write(2, f"{name}:\tWaiting\n")
        if state["waiting"].get("reason"):
            w.write(3, f"Reason:\t{state['waiting']['reason']}\n")
    elif state.get("terminated") is not None:
        t = state["terminated"]
        w.write(2, f"{name}:\tTerminated\n")
        if t.get("reason"):
            w.write(3, f"Reason:\t{t['reason']}\n")
        if t.get("message"):
            w.write(3, f"Message:\t{t['message']}\n")
        w.write(3, f"Exit Code:\t{t.get('exitCode', 0)}\n")
        if (t.get("signal") or 0) > 0:
            w.write(3, f"Signal:\t{t['signal']}\n")
        w.write(3, f"Started:\t{rfc1123z(t.get('startedAt'))}\n")
        w.write(3, f"Finished:\t{rfc1123z(t.get('finishedAt'))}\n")
    else:
        w.write(2, f"{name}:\tWaiting\n")


def resources(w: Writer, res: Obj, level: int) -> None:
    for part in ("limits", "requests"):
        if res.get(part):
            w.write(level, f"{part.capitalize()}:\n")
            for name in sorted(res[part]):
                w.write(level + 1, f"{name}:\t{res[part][name]}\n")


def _field(pod: Obj | None, path: str) -> str:
    """The value of a downward-API field path of ``pod`` (kubectl's EnvValueRetriever)."""
    if pod is None:
        return ""
    m = re.fullmatch(r"metadata\.(labels|annotations)\['(.*)'\]", path)
    if m:
        return str((meta(pod).get(m.group(1)) or {}).get(m.group(2), ""))
    cur: Any = pod
    for step in path.split("."):
        cur = cur.get(step) if isinstance(cur, dict) else None
    if isinstance(cur, dict):
        return ",".join(f'{k}="{v}"' for k, v in sorted(cur.items()))
    return "" if cur is None else str(cur)


def _env(w: Writer, c: Obj, pod: Obj | None) -> None:
    if c.get("envFrom"):
        w.write(2, "Environment Variables from:\n")
        for e in c["envFrom"]:
            ref, src = (e["configMapRef"], "ConfigMap") if e.get("configMapRef") else \
                (e.get("secretRef") or {}, "Secret")
            opt = "true" if ref.get("optional") else "false"
            kind = f"{src} with prefix '{e['prefix']}'" if e.get("prefix") else src
            w.write(3, f"{ref.get('name', '')}\t{kind}\tOptional: {opt}\n")
    env = c.get("env") or []
    w.write(2, "Environment:\n" if env else "Environment:\t<none>\n")
    for e in env:
        src = e.get("valueFrom")
        if src is None:
            for i, s in enumerate(str(e.get("value") or "").split("\n")):
                w.write(3, f"{e.get('name')}:\t{s}\n" if i == 0 else f"\t{s}\n")
        elif src.get("fieldRef") is not None:
            f = src["fieldRef"]
            w.write(3, f"{e.get('name')}:\t{_field(pod, str(f.get('fieldPath')))} "
                       f"({f.get('apiVersion', 'v1')}:{f.get('fieldPath')})\n")
        elif src.get("resourceFieldRef") is not None:
            w.write(3, f"{e.get('name')}:\t ({src['resourceFieldRef'].get('resource')})\n")
        elif src.get("secretKeyRef") is not None:
            r = src["secretKeyRef"]
            w.write(3, f"{e.get('name')}:\t<set to the key '{r.get('key')}' in secret "
                       f"'{r.get('name')}'>\tOptional: {'true' if r.get('optional') else 'false'}\n")
        elif src.get("configMapKeyRef") is not None:
            r = src["configMapKeyRef"]
            w.write(3, f"{e.get('name')}:\t<set to the key '{r.get('key')}' of config map "
                       f"'{r.get('name')}'>\tOptional: {'true' if r.get('optional') else 'false'}\n")


def containers(w: Writer, label: str, specs: list[Obj], statuses: list[Obj] | None,
               space: str, pod: Obj | None = None) -> None:
    """``describeContainers`` (``space`` is ``"  "`` in a pod template)."""
    by_name = {s.get("name"): s for s in statuses or []}
    w.write(0, f"{space}{label}:{'' if specs else ' <none>'}\n")
    indent = " " if space else ""
    for c in specs:
        st = by_name.get(c.get("name"))
        w.write(1, f"{indent}{c.get('name')}:\n")
        if st is not None:
            w.write(2, f"Container ID:\t{st.get('containerID') or ''}\n")
        w.write(2, f"Image:\t{c.get('image') or ''}\n")
        if st is not None:
            w.write(2, f"Image ID:\t{st.get('imageID') or ''}\n")
        ports = c.get("ports") or []
        plural = "s" if len(ports) > 1 else ""
        w.write(2, f"Port{plural}:\t{_ports(ports, 'containerPort') or NONE}\n")
        w.write(2, f"Host Port{plural}:\t{_ports(ports, 'hostPort') or NONE}\n")
        for key in ("command", "args"):
            if c.get(key):
                w.write(2, f"{key.capitalize()}:\n")
                for part in c[key]:
                    for s in str(part).split("\n"):
                        w.write(3, f"{s}\n")
        if st is not None:
            _state(w, "State", st.get("state") or {})
            if (st.get("lastState") or {}).get("terminated") is not None:
                _state(w, "Last State", st["lastState"])
            w.write(2, f"Ready:\t{'True' if st.get('ready') else 'False'}\n")
            w.write(2, f"Restart Count:\t{st.get('restartCount', 0)}\n")
        resources(w, c.get("resources") or {}, 2)
        for key, label_ in (("livenessProbe", "Liveness"), ("readinessProbe", "Readiness"),
                            ("startupProbe", "Startup")):
            if c.get(key):
                w.write(2, f"{label_}:\t{_probe(c[key])}\n")
        _env(w, c, pod)
        mounts = sorted(c.get("volumeMounts") or [], key=lambda m: str(m.get("mountPath")))
        w.write(2, "Mounts:\n" if mounts else "Mounts:\t<none>\n")
        for m in mounts:
            flags = ["ro" if m.get("readOnly") else "rw"]
            if m.get("subPath"):
                flags.append(f'path="{m["subPath"]}"')
            w.write(3, f"{m.get('mountPath')} from {m.get('name')} ({','.join(flags)})\n")


def tolerations_multiline(w: Writer, title: str, tols: list[Obj] | None) -> None:
    """``printTolerationsMultilineWithIndent``, sorted by key."""
    w.write(0, f"{title}:\t")
    if not tols:
        w.line(NONE)
        return
    for i, t in enumerate(sorted(tols, key=lambda t: str(t.get("key") or ""))):
        if i:
            w.write(0, "\t")
        text = str(t.get("key") or "")
        if t.get("value"):
            text += f"={t['value']}"
        if t.get("effect"):
            text += f":{t['effect']}"
        if t.get("operator") == "Exists" and not t.get("value"):
            text += " op=Exists" if t.get("key") or t.get("effect") else "op=Exists"
        if t.get("tolerationSeconds") is not None:
            text += f" for {t['tolerationSeconds']}s"
        w.write(0, text + "\n")


def _qos(spec: Obj) -> str:
    """The pod's QoS class from its containers' resources (``qos.GetPodQOS``)."""
    reqs: list[Obj] = []
    lims: list[Obj] = []
    for c in (spec.get("initContainers") or []) + (spec.get("containers") or []):
        res = c.get("resources") or {}
        reqs.append({k: v for k, v in (res.get("requests") or {}).items()
                     if k in ("cpu", "memory")})
        lims.append({k: v for k, v in (res.get("limits") or {}).items()
                     if k in ("cpu", "memory")})
    if not any(reqs) and not any(lims):
        return "BestEffort"
    guaranteed = all(set(lim) == {"cpu", "memory"} and all(r.get(k, v) == v for k, v in lim.items())
                     for r, lim in zip(reqs, lims, strict=True))
    return "Guaranteed" if guaranteed else "Burstable"


def pod(w: Writer, o: Obj, fetch: Fetch) -> None:
    md, spec, st = meta(o), o.get("spec") or {}, o.get("status") or {}
    w.write(0, f"Name:\t{md.get('name')}\n")
    w.write(0, f"Namespace:\t{md.get('namespace')}\n")
    if spec.get("priority") is not None:
        w.write(0, f"Priority:\t{spec['priority']}\n")
    if spec.get("priorityClassName"):
        w.write(0, f"Priority Class Name:\t{spec['priorityClassName']}\n")
    if spec.get("runtimeClassName"):
        w.write(0, f"Runtime Class Name:\t{spec['runtimeClassName']}\n")
    if spec.get("serviceAccountName"):
        w.write(0, f"Service Account:\t{spec['serviceAccountName']}\n")
    node = spec.get("nodeName")
    w.write(0, f"Node:\t{node}/{st.get('hostIP') or ''}\n" if node else "Node:\t<none>\n")
    if st.get("startTime"):
        w.write(0, f"Start Time:\t{rfc1123z(st['startTime'])}\n")
    labels_multiline(w, "Labels", md.get("labels"))
    annotations_multiline(w, "Annotations", md.get("annotations"))
    phase = st.get("phase") or ""
    if md.get("deletionTimestamp") and phase not in ("Failed", "Succeeded"):
        w.write(0, f"Status:\tTerminating (lasts {age(md['deletionTimestamp'])})\n")
        w.write(0, f"Termination Grace Period:\t{md.get('deletionGracePeriodSeconds', 0)}s\n")
    else:
        w.write(0, f"Status:\t{phase}\n")
    if st.get("reason"):
        w.write(0, f"Reason:\t{st['reason']}\n")
    if st.get("message"):
        w.write(0, f"Message:\t{st['message']}\n")
    w.write(0, f"IP:\t{st.get('podIP') or ''}\n")
    ips = st.get("podIPs") or []
    if not ips:
        w.write(0, "IPs:\t<none>\n")
    else:
        w.write(0, "IPs:\n")
        for ip in ips:
            w.write(1, f"IP:\t{ip.get('ip')}\n")
    ctl = next((r for r in md.get("ownerReferences") or [] if r.get("controller")), None)
    if ctl:
        w.write(0, f"Controlled By:\t{ctl.get('kind')}/{ctl.get('name')}\n")
    if st.get("nominatedNodeName"):
        w.write(0, f"NominatedNodeName:\t{st['nominatedNodeName']}\n")
    if spec.get("initContainers"):
        containers(w, "Init Containers", spec["initContainers"],
                   st.get("initContainerStatuses") or [], "", o)
    containers(w, "Containers", spec.get("containers") or [], st.get("containerStatuses") or [],
               "", o)
    if spec.get("readinessGates"):
        w.write(0, "Readiness Gates:\n  Type\tStatus\n")
        for g in spec["readinessGates"]:
            status = next((str(c.get("status")) for c in st.get("conditions") or []
                           if c.get("type") == g.get("conditionType")), NONE)
            w.write(1, f"{g.get('conditionType')} \t{status} \n")
    if st.get("conditions"):
        w.write(0, "Conditions:\n  Type\tStatus\n")
        for c in st["conditions"]:
            w.write(1, f"{c.get('type')} \t{c.get('status')} \n")
    volumes(w, spec.get("volumes") or [], "")
    w.write(0, f"QoS Class:\t{st.get('qosClass') or _qos(spec)}\n")
    labels_multiline(w, "Node-Selectors", spec.get("nodeSelector"))
    tolerations_multiline(w, "Tolerations", spec.get("tolerations"))
    describe_events(w, events_for(fetch, o))


def pod_template(w: Writer, tmpl: Any) -> None:
    """kubectl's ``DescribePodTemplate``."""
    w.write(0, "Pod Template:\n")
    if tmpl is None:
        w.write(1, "<unset>")
        return
    tmeta, tspec = tmpl.get("metadata") or {}, tmpl.get("spec") or {}
    labels_multiline(w, "  Labels", tmeta.get("labels"))
    if tmeta.get("annotations"):
        annotations_multiline(w, "  Annotations", tmeta["annotations"])
    if tspec.get("serviceAccountName"):
        w.write(1, f"Service Account:\t{tspec['serviceAccountName']}\n")
    if tspec.get("initContainers"):
        containers(w, "Init Containers", tspec["initContainers"], None, "  ")
    containers(w, "Containers", tspec.get("containers") or [], None, "  ")
    volumes(w, tspec.get("volumes") or [], "  ")
    if tspec.get("priorityClassName"):
        w.write(1, f"Priority Class Name:\t{tspec['priorityClassName']}\n")
    labels_multiline(w, "  Node-Selectors", tspec.get("nodeSelector"))
    tolerations_multiline(w, "  Tolerations", tspec.get("tolerations"))
