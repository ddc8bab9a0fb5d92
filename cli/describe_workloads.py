"""``kctl describe`` for workloads: Deployment, ReplicaSet, DaemonSet, StatefulSet, Job and
CronJob.

Sections and order follow kubectl's describers: the Deployment's Replicas
line, strategy, Conditions and its Old/New ReplicaSets (found as
:mod:`jetkube.cli.rollouts` finds them); the pod counts of ReplicaSets,
DaemonSets and Jobs; each with kubectl's ``Pod Template:``.
"""

from __future__ import annotations

from jetkube.schemas import parse_time
from jetkube.schemas.objects import Obj
from jetkube.services.machinery.printers import describe_time, human_duration, selector_string

from .describe import NONE, Fetch, Writer, header, map_lines
from .describe_pods import pod_template
from .rollouts import owned_replicasets, replicasets_text, split_replicasets


def _meta(o: Obj) -> Obj:
    return o.get("metadata") or {}


def _controlled_by(w: Writer, o: Obj) -> None:
    ctl = next((r for r in _meta(o).get("ownerReferences") or [] if r.get("controller")), None)
    if ctl:
        w.kv(0, "Controlled By", f"{ctl.get('kind')}/{ctl.get('name')}")


def owned_pods(fetch: Fetch, owner: Obj) -> list[Obj]:
    """Pods matching the owner's selector whose controller is the owner."""
    meta = _meta(owner)
    sel = selector_string((owner.get("spec") or {}).get("selector"))
    params = {"labelSelector": sel} if sel != NONE else {}
    try:
        lst = fetch(f"/api/v1/namespaces/{meta.get('namespace')}/pods", params)
    except Exception:  # best effort, like kubectl's describers
        return []
    return [p for p in lst.get("items") or []
            if any(r.get("controller") and r.get("uid") == meta.get("uid")
                   for r in _meta(p).get("ownerReferences") or [])]


def _pods_status(w: Writer, key: str, pods: list[Obj]) -> None:
    phases = [(p.get("status") or {}).get("phase") or "Pending" for p in pods]
    w.kv(0, key, f"{phases.count('Running')} Running / {phases.count('Pending')} Waiting / "
         f"{phases.count('Succeeded')} Succeeded / {phases.count('Failed')} Failed")


def _conditions(w: Writer, conds: list[Obj]) -> None:
    if not conds:
        return
    w.section(0, "Conditions")
    width = max(len(str(c.get("type"))) for c in [*conds, {"type": "Type"}]) + 2
    w.raw(1, f"{'Type'.ljust(width)}Status  Reason")
    w.raw(1, f"{'----'.ljust(width)}------  ------")
    for c in conds:
        w.raw(1, f"{str(c.get('type')).ljust(width)}{str(c.get('status')).ljust(8)}"
                 f"{c.get('reason') or ''}".rstrip())


def deployment(w: Writer, o: Obj, fetch: Fetch) -> None:
    meta, spec, st = _meta(o), o.get("spec") or {}, o.get("status") or {}
    w.kv(0, "Name", meta.get("name"))
    w.kv(0, "Namespace", meta.get("namespace"))
    w.kv(0, "CreationTimestamp", describe_time(meta.get("creationTimestamp")))
    w.kv(0, "Labels", map_lines(meta.get("labels")))
    anns = {k: v for k, v in (meta.get("annotations") or {}).items()
            if k != "kubectl.kubernetes.io/last-applied-configuration"}
    w.kv(0, "Annotations", map_lines(anns, ": "))
    w.kv(0, "Selector", selector_string(spec.get("selector")))
    want = spec.get("replicas", 1)
    w.kv(0, "Replicas", f"{want} desired | {st.get('updatedReplicas') or 0} updated | "
         f"{st.get('replicas') or 0} total | {st.get('availableReplicas') or 0} available | "
         f"{st.get('unavailableReplicas') or 0} unavailable")
    if spec.get("paused"):
        w.kv(0, "Paused", "true")
    strategy = spec.get("strategy") or {}
    kind = strategy.get("type") or "RollingUpdate"
    w.kv(0, "StrategyType", kind)
    w.kv(0, "MinReadySeconds", spec.get("minReadySeconds") or 0)
    if kind == "RollingUpdate":
        ru = strategy.get("rollingUpdate") or {}
        w.kv(0, "RollingUpdateStrategy", f"{ru.get('maxUnavailable', '25%')} max unavailable, "
             f"{ru.get('maxSurge', '25%')} max surge")
    pod_template(w, spec.get("template") or {})
    _conditions(w, st.get("conditions") or [])
    try:
        rss = owned_replicasets(fetch, o)
    except Exception:  # best effort: the ReplicaSet lines are left out, as kubectl does
        return
    new, old, _ = split_replicasets(o, rss)
    w.kv(0, "OldReplicaSets", replicasets_text(old))
    w.kv(0, "NewReplicaSet", replicasets_text([new] if new else []))


def replicaset(w: Writer, o: Obj, fetch: Fetch) -> None:
    spec, st = o.get("spec") or {}, o.get("status") or {}
    w.kv(0, "Name", _meta(o).get("name"))
    w.kv(0, "Namespace", _meta(o).get("namespace"))
    w.kv(0, "Selector", selector_string(spec.get("selector")))
    meta = _meta(o)
    w.kv(0, "Labels", map_lines(meta.get("labels")))
    w.kv(0, "Annotations", map_lines(meta.get("annotations"), ": "))
    _controlled_by(w, o)
    w.kv(0, "Replicas", f"{st.get('replicas') or 0} current / {spec.get('replicas', 1)} desired")
    _pods_status(w, "Pods Status", owned_pods(fetch, o))
    pod_template(w, spec.get("template") or {})
    _conditions(w, st.get("conditions") or [])


def daemonset(w: Writer, o: Obj, fetch: Fetch) -> None:
    meta, spec, st = _meta(o), o.get("spec") or {}, o.get("status") or {}
    w.kv(0, "Name", meta.get("name"))
    w.kv(0, "Namespace", meta.get("namespace"))
    w.kv(0, "Selector", selector_string(spec.get("selector")))
    node_sel = ((spec.get("template") or {}).get("spec") or {}).get("nodeSelector")
    w.kv(0, "Node-Selector", ",".join(map_lines(node_sel)))
    w.kv(0, "Labels", map_lines(meta.get("labels")))
    w.kv(0, "Annotations", map_lines(meta.get("annotations"), ": "))
    w.kv(0, "Desired Number of Nodes Scheduled", st.get("desiredNumberScheduled") or 0)
    w.kv(0, "Current Number of Nodes Scheduled", st.get("currentNumberScheduled") or 0)
    w.kv(0, "Number of Nodes Scheduled with Up-to-date Pods",
         st.get("updatedNumberScheduled") or 0)
    w.kv(0, "Number of Nodes Scheduled with Available Pods", st.get("numberAvailable") or 0)
    w.kv(0, "Number of Nodes Misscheduled", st.get("numberMisscheduled") or 0)
    _pods_status(w, "Pods Status", owned_pods(fetch, o))
    pod_template(w, spec.get("template") or {})


def statefulset(w: Writer, o: Obj, fetch: Fetch) -> None:
    """kubectl's describeStatefulSet, with its ``Volume Claims:`` section."""
    meta, spec, st = _meta(o), o.get("spec") or {}, o.get("status") or {}
    w.kv(0, "Name", meta.get("name"))
    w.kv(0, "Namespace", meta.get("namespace"))
    w.kv(0, "CreationTimestamp", describe_time(meta.get("creationTimestamp")))
    w.kv(0, "Selector", selector_string(spec.get("selector")))
    w.kv(0, "Labels", map_lines(meta.get("labels")))
    w.kv(0, "Annotations", map_lines(meta.get("annotations"), ": "))
    w.kv(0, "Replicas", f"{spec.get('replicas', 1)} desired | {st.get('replicas') or 0} total")
    strategy = spec.get("updateStrategy") or {}
    w.kv(0, "Update Strategy", strategy.get("type") or "RollingUpdate")
    rolling = strategy.get("rollingUpdate") or {}
    if rolling.get("partition") is not None:
        w.kv(1, "Partition", rolling["partition"])
        if rolling.get("maxUnavailable") is not None:
            w.kv(1, "MaxUnavailable", rolling["maxUnavailable"])
    _pods_status(w, "Pods Status", owned_pods(fetch, o))
    pod_template(w, spec.get("template") or {})
    claims = spec.get("volumeClaimTemplates") or []
    if not claims:
        w.kv(0, "Volume Claims", NONE)
    else:
        w.section(0, "Volume Claims")
    for claim in claims:
        cmeta, cspec = _meta(claim), claim.get("spec") or {}
        w.kv(1, "Name", cmeta.get("name"))
        w.kv(1, "StorageClass", cspec.get("storageClassName") or "")
        w.kv(1, "Labels", map_lines(cmeta.get("labels")))
        w.kv(1, "Annotations", map_lines(cmeta.get("annotations"), ": "))
        w.kv(1, "Capacity", ((cspec.get("resources") or {}).get("requests") or {}).get(
            "storage") or "<default>")
        w.kv(1, "Access Modes", "[" + " ".join(cspec.get("accessModes") or []) + "]")


def job(w: Writer, o: Obj, fetch: Fetch) -> None:
    spec, st = o.get("spec") or {}, o.get("status") or {}
    header(w, o, namespaced=True)
    w.kv(0, "Selector", selector_string(spec.get("selector")))
    _controlled_by(w, o)
    w.kv(0, "Parallelism", spec.get("parallelism", 1))
    w.kv(0, "Completions", spec.get("completions") if spec.get("completions") is not None
         else "<unset>")
    w.kv(0, "Completion Mode", spec.get("completionMode") or "NonIndexed")
    w.kv(0, "Suspend", "true" if spec.get("suspend") else "false")
    w.kv(0, "Backoff Limit", spec.get("backoffLimit", 6))
    if spec.get("ttlSecondsAfterFinished") is not None:
        w.kv(0, "TTL Seconds After Finished", spec["ttlSecondsAfterFinished"])
    start, end = parse_time(st.get("startTime")), parse_time(st.get("completionTime"))
    if start is not None:
        w.kv(0, "Start Time", describe_time(st.get("startTime")))
    if end is not None:
        w.kv(0, "Completed At", describe_time(st.get("completionTime")))
        if start is not None:
            w.kv(0, "Duration", human_duration((end - start).total_seconds()))
    if spec.get("activeDeadlineSeconds") is not None:
        w.kv(0, "Active Deadline Seconds", f"{spec['activeDeadlineSeconds']}s")
    w.kv(0, "Pods Statuses", f"{st.get('active') or 0} Active ({st.get('ready') or 0} Ready) / "
         f"{st.get('succeeded') or 0} Succeeded / {st.get('failed') or 0} Failed")
    pod_template(w, spec.get("template") or {})


def cronjob(w: Writer, o: Obj, fetch: Fetch) -> None:
    """kubectl's describeCronJob, with its job template as describeJobTemplate prints it."""
    spec, st = o.get("spec") or {}, o.get("status") or {}
    header(w, o, namespaced=True)
    w.kv(0, "Schedule", spec.get("schedule"))
    w.kv(0, "Concurrency Policy", spec.get("concurrencyPolicy") or "Allow")
    w.kv(0, "Suspend", "True" if spec.get("suspend") else "False")
    w.kv(0, "Time Zone", spec.get("timeZone") or "<unset>")
    for label, field in (("Successful Job History Limit", "successfulJobsHistoryLimit"),
                         ("Failed Job History Limit", "failedJobsHistoryLimit")):
        w.kv(0, label, spec[field] if spec.get(field) is not None else "<unset>")
    deadline = spec.get("startingDeadlineSeconds")
    w.kv(0, "Starting Deadline Seconds", f"{deadline}s" if deadline is not None else "<unset>")
    tspec = ((spec.get("jobTemplate") or {}).get("spec")) or {}
    w.kv(0, "Selector", selector_string(tspec["selector"]) if tspec.get("selector")
         else "<unset>")
    for label, field in (("Parallelism", "parallelism"), ("Completions", "completions")):
        w.kv(0, label, tspec[field] if tspec.get(field) is not None else "<unset>")
    if tspec.get("activeDeadlineSeconds") is not None:
        w.kv(0, "Active Deadline Seconds", f"{tspec['activeDeadlineSeconds']}s")
    pod_template(w, tspec.get("template") or {})
    w.kv(0, "Last Schedule Time", describe_time(st.get("lastScheduleTime")))
    w.kv(0, "Active Jobs", ", ".join(str(r.get("name")) for r in st.get("active") or [])
         or NONE)
