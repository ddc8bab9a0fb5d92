"""Cells of table rows, per kind, computed the way Kubernetes' printers do (the same text
for ``kctl get`` and the API server's Tables).

The pod and node logic follows Kubernetes (``READY``, ``STATUS``, ``RESTARTS
(5m ago)``, ``ROLES``…); services and endpoints are in :mod:`._rows_net`;
:mod:`._printers` pairs these with columns.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from jetkube.schemas import parse_time
from jetkube.schemas.objects import Obj, condition_is_true, get_condition

from ..apimachinery import selector_from_label_selector
from ._timefmt import age, human_duration, now

RowFn = Callable[[Obj], list[str]]
NONE = "<none>"


def _meta(o: Obj) -> Obj:
    return o.get("metadata") or {}


def _spec(o: Obj) -> Obj:
    return o.get("spec") or {}


def _status(o: Obj) -> Obj:
    return o.get("status") or {}


def name_of(o: Obj) -> str:
    return str(_meta(o).get("name", ""))


def age_of(o: Obj) -> str:
    return age(_meta(o).get("creationTimestamp"))


def _int(v: Any) -> int:
    try:
        return int(v or 0)
    except (TypeError, ValueError):
        return 0


def labels_string(labels: Any) -> str:
    if not isinstance(labels, dict) or not labels:
        return NONE
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))


def selector_string(sel: Any) -> str:
    """A LabelSelector (matchLabels + matchExpressions) or a plain map, as text."""
    if not isinstance(sel, dict) or not sel:
        return NONE
    if "matchLabels" not in sel and "matchExpressions" not in sel:
        return labels_string(sel)
    try:
        return str(selector_from_label_selector(sel)) or NONE
    except ValueError:  # not a valid LabelSelector: show it as it is
        return str(sel)


def _containers_images(o: Obj) -> list[str]:
    tmpl = _spec(_spec(o).get("template") or {}) if "template" in _spec(o) else _spec(o)
    cs = tmpl.get("containers") or []
    names = ",".join(str(c.get("name", "")) for c in cs) or NONE
    images = ",".join(str(c.get("image", "")) for c in cs) or NONE
    return [names, images]


# --- pods -----------------------------------------------------------------

def pod_status(pod: Obj) -> tuple[str, int, int, str]:
    """(status reason, ready containers, restarts, restarts text) as kubectl computes them."""
    spec, st = _spec(pod), _status(pod)
    reason = str(st.get("reason") or st.get("phase") or "Pending")
    if (get_condition(pod, "PodScheduled") or {}).get("reason") == "SchedulingGated":
        reason = "SchedulingGated"
    restarts, ready = 0, 0
    last_restart = None
    initializing = False
    inits = spec.get("initContainers") or []
    for i, c in enumerate(st.get("initContainerStatuses") or []):
        restarts += _int(c.get("restartCount"))
        state = c.get("state") or {}
        term, wait = state.get("terminated"), state.get("waiting")
        if term and _int(term.get("exitCode")) == 0:
            continue
        if term:
            if term.get("reason"):
                reason = "Init:" + str(term["reason"])
            elif term.get("signal"):
                reason = f"Init:Signal:{term['signal']}"
            else:
                reason = f"Init:ExitCode:{_int(term.get('exitCode'))}"
        elif wait and wait.get("reason") and wait["reason"] != "PodInitializing":
            reason = "Init:" + str(wait["reason"])
        else:
            reason = f"Init:{i}/{len(inits)}"
        initializing = True
        break
    if not initializing:
        restarts = 0
        has_running = False
        for c in reversed(st.get("containerStatuses") or []):
            restarts += _int(c.get("restartCount"))
            last = ((c.get("lastState") or {}).get("terminated") or {}).get("finishedAt")
            lt = parse_time(last)
            if lt and (last_restart is None or lt > last_restart):
                last_restart = lt
            state = c.get("state") or {}
            wait, term = state.get("waiting"), state.get("terminated")
            if wait and wait.get("reason"):
                reason = str(wait["reason"])
            elif term and term.get("reason"):
                reason = str(term["reason"])
            elif term:
                reason = (f"Signal:{term['signal']}" if term.get("signal")
                          else f"ExitCode:{_int(term.get('exitCode'))}")
            elif c.get("ready") and state.get("running") is not None:
                has_running = True
                ready += 1
        if reason == "Completed" and has_running:
            reason = "Running" if condition_is_true(pod, "Ready") else "NotReady"
    if _meta(pod).get("deletionTimestamp"):
        if st.get("reason") == "NodeLost":
            reason = "Unknown"
        elif st.get("phase") not in ("Succeeded", "Failed"):
            reason = "Terminating"
    text = str(restarts)
    if restarts and last_restart is not None:
        text = f"{restarts} ({human_duration((now() - last_restart).total_seconds())} ago)"
    return reason, ready, restarts, text


def _pod(o: Obj) -> list[str]:
    reason, ready, _, restarts = pod_status(o)
    total = len(_spec(o).get("containers") or [])
    return [name_of(o), f"{ready}/{total}", reason, restarts, age_of(o)]


def _pod_wide(o: Obj) -> list[str]:
    gates = _spec(o).get("readinessGates") or []
    gate_text = NONE
    if gates:
        ok = sum(1 for g in gates if condition_is_true(o, str(g.get("conditionType"))))
        gate_text = f"{ok}/{len(gates)}"
    return [str(_status(o).get("podIP") or NONE), str(_spec(o).get("nodeName") or NONE),
            str(_status(o).get("nominatedNodeName") or NONE), gate_text]


# --- workloads ------------------------------------------------------------

def _deployment(o: Obj) -> list[str]:
    s, st = _spec(o), _status(o)
    want = _int(s.get("replicas", 1))
    return [name_of(o), f"{_int(st.get('readyReplicas'))}/{want}",
            str(_int(st.get("updatedReplicas"))), str(_int(st.get("availableReplicas"))),
            age_of(o)]


def _with_selector(o: Obj) -> list[str]:
    return [*_containers_images(o), selector_string(_spec(o).get("selector"))]


def _replicaset(o: Obj) -> list[str]:
    s, st = _spec(o), _status(o)
    return [name_of(o), str(_int(s.get("replicas", 1))), str(_int(st.get("replicas"))),
            str(_int(st.get("readyReplicas"))), age_of(o)]


def _statefulset(o: Obj) -> list[str]:
    ready, want = _int(_status(o).get("readyReplicas")), _int(_spec(o).get("replicas", 1))
    return [name_of(o), f"{ready}/{want}", age_of(o)]


def _controllerrevision(o: Obj) -> list[str]:
    """CONTROLLER is ``<kind>.<group>/<name>`` of the controller reference."""
    ref = next((r for r in _meta(o).get("ownerReferences") or () if r.get("controller")), None)
    controller = NONE
    if ref is not None:
        group = str(ref.get("apiVersion") or "").rpartition("/")[0]
        kind = str(ref.get("kind") or "").lower()
        controller = f"{kind}.{group}/{ref.get('name')}" if group else f"{kind}/{ref.get('name')}"
    return [name_of(o), controller, str(_int(o.get("revision"))), age_of(o)]


def _daemonset(o: Obj) -> list[str]:
    st = _status(o)
    node_sel = (_spec(_spec(o).get("template") or {})).get("nodeSelector")
    return [name_of(o), str(_int(st.get("desiredNumberScheduled"))),
            str(_int(st.get("currentNumberScheduled"))), str(_int(st.get("numberReady"))),
            str(_int(st.get("updatedNumberScheduled"))), str(_int(st.get("numberAvailable"))),
            labels_string(node_sel), age_of(o)]


def _job(o: Obj) -> list[str]:
    s, st = _spec(o), _status(o)
    completions = s.get("completions")
    done = _int(st.get("succeeded"))
    comp = (f"{done}/{completions}" if completions is not None
            else f"{done}/1 of {s.get('parallelism', 1)}")
    if condition_is_true(o, "Complete"):
        status = "Complete"
    elif condition_is_true(o, "Failed"):
        status = "Failed"
    elif _meta(o).get("deletionTimestamp"):
        status = "Terminating"
    elif condition_is_true(o, "Suspended"):
        status = "Suspended"
    elif condition_is_true(o, "FailureTarget"):
        status = "FailureTarget"
    elif condition_is_true(o, "SuccessCriteriaMet"):
        status = "SuccessCriteriaMet"
    else:
        status = "Running"
    start, end = parse_time(st.get("startTime")), parse_time(st.get("completionTime"))
    duration = human_duration(((end or now()) - start).total_seconds()) if start else ""
    return [name_of(o), status, comp, duration, age_of(o)]


def _cronjob(o: Obj) -> list[str]:
    s, st = _spec(o), _status(o)
    last = st.get("lastScheduleTime")
    return [name_of(o), str(s.get("schedule", "")), str(s.get("timeZone") or NONE),
            str(bool(s.get("suspend"))), str(len(st.get("active") or [])),
            age(last) if last else NONE, age_of(o)]


def _cronjob_wide(o: Obj) -> list[str]:
    """Containers, images and selector of the job template (kubectl's wide CronJob)."""
    return _with_selector({"spec": _spec(_spec(o).get("jobTemplate") or {})})


# --- cluster --------------------------------------------------------------

def node_status(node: Obj) -> str:
    """kubectl's STATUS: ``Ready`` / ``NotReady`` (any other status of the Ready
    condition) / ``Unknown`` (no Ready condition), plus ``SchedulingDisabled``."""
    ready = get_condition(node, "Ready")
    status = ("Unknown" if ready is None else "Ready" if ready.get("status") == "True"
              else "NotReady")
    if _spec(node).get("unschedulable"):
        status += ",SchedulingDisabled"
    return status


def node_roles(node: Obj) -> str:
    roles = []
    for k, v in (_meta(node).get("labels") or {}).items():
        if k.startswith("node-role.kubernetes.io/"):
            roles.append(k.split("/", 1)[1])
        elif k == "kubernetes.io/role":
            roles.append(str(v))
    return ",".join(sorted(r for r in roles if r)) or NONE


def _node(o: Obj) -> list[str]:
    info = _status(o).get("nodeInfo") or {}
    return [name_of(o), node_status(o), node_roles(o), age_of(o),
            str(info.get("kubeletVersion") or "")]


def _node_wide(o: Obj) -> list[str]:
    addrs = {a.get("type"): a.get("address") for a in _status(o).get("addresses") or []}
    info = _status(o).get("nodeInfo") or {}
    return [str(addrs.get("InternalIP") or NONE), str(addrs.get("ExternalIP") or NONE),
            str(info.get("osImage") or "<unknown>"), str(info.get("kernelVersion") or "<unknown>"),
            str(info.get("containerRuntimeVersion") or "<unknown>")]


def _event_times(o: Obj) -> tuple[str, str, int]:
    """(LAST SEEN, FIRST SEEN, count) as kubectl's event printer computes them."""
    first_ts = o.get("firstTimestamp") or o.get("eventTime") or o.get("deprecatedFirstTimestamp")
    first = age(first_ts or _meta(o).get("creationTimestamp"))
    last_ts = o.get("lastTimestamp") or o.get("deprecatedLastTimestamp")
    last = age(last_ts) if last_ts else first
    count = _int(o.get("count") or o.get("deprecatedCount"))
    series = o.get("series") or {}
    if series:
        last = age(series.get("lastObservedTime"))
        count = _int(series.get("count"))
    return last, first, count or 1


def _event_target(o: Obj) -> str:
    involved = o.get("involvedObject") or o.get("regarding") or {}
    kind = str(involved.get("kind", "")).lower()
    return f"{kind}/{involved['name']}" if involved.get("name") else kind


def _event(o: Obj) -> list[str]:
    last, first, count = _event_times(o)
    if count > 1:
        last = f"{last} (x{count} over {first})"
    return [last, str(o.get("type") or ""), str(o.get("reason") or ""), _event_target(o),
            str(o.get("message") or o.get("note") or "").strip()]


def _event_wide(o: Obj) -> list[str]:
    """LAST SEEN TYPE REASON OBJECT SUBOBJECT SOURCE MESSAGE FIRST SEEN COUNT NAME."""
    last, first, count = _event_times(o)
    involved = o.get("involvedObject") or o.get("regarding") or {}
    src = o.get("source") or {}
    component = src.get("component") or o.get("reportingController") or \
        o.get("reportingComponent") or ""
    host = src.get("host") or o.get("reportingInstance") or ""
    source = f"{component}, {host}" if component and host else str(component or host)
    return [last, str(o.get("type") or ""), str(o.get("reason") or ""), _event_target(o),
            str(involved.get("fieldPath") or ""), source,
            str(o.get("message") or o.get("note") or "").strip(), first, str(count),
            name_of(o)]


def _simple(*fields: Callable[[Obj], str]) -> RowFn:
    def row(o: Obj) -> list[str]:
        return [name_of(o), *(f(o) for f in fields), age_of(o)]
    return row


def _created_at(o: Obj) -> list[str]:
    return [name_of(o), str(_meta(o).get("creationTimestamp") or "")]


def _binding(o: Obj) -> list[str]:
    ref = o.get("roleRef") or {}
    return [name_of(o), f"{ref.get('kind', '')}/{ref.get('name', '')}", age_of(o)]


def _binding_wide(o: Obj) -> list[str]:
    subjects = o.get("subjects") or []

    def of(kind: str) -> str:
        names = [(f"{s.get('namespace')}/{s.get('name')}" if kind == "ServiceAccount"
                  else str(s.get("name"))) for s in subjects if s.get("kind") == kind]
        return ",".join(names)
    return [of("User"), of("Group"), of("ServiceAccount")]


def _componentstatus(o: Obj) -> list[str]:
    cond: Obj = next((c for c in o.get("conditions") or [] if c.get("type") == "Healthy"), {})
    healthy = {"True": "Healthy", "False": "Unhealthy"}.get(str(cond.get("status")), "Unknown")
    return [name_of(o), healthy, str(cond.get("message") or ""), str(cond.get("error") or "")]


