"""``kctl describe`` for workloads: Deployment, ReplicaSet (and ReplicationController),
DaemonSet, StatefulSet, Job and CronJob, in kubectl 1.37's format strings: the
Deployment's Replicas line, strategy, Conditions and Old/New ReplicaSets (found as
:mod:`jetkube.cli.rollouts` finds them); the pod counts of the others; each with
kubectl's ``Pod Template:``.
"""

from __future__ import annotations

from jetkube.schemas import parse_time
from jetkube.schemas.objects import Obj
from jetkube.services.machinery.printers import human_duration, selector_string

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
from .describe_pods import pod_template
from .rollouts import owned_replicasets, replicasets_text, split_replicasets

__all__ = ["cronjob", "daemonset", "deployment", "job", "owned_pods", "replicaset",
           "statefulset"]


def _controlled_by(w: Writer, o: Obj) -> None:
    ctl = next((r for r in meta(o).get("ownerReferences") or [] if r.get("controller")), None)
    if ctl:
        w.write(0, f"Controlled By:\t{ctl.get('kind')}/{ctl.get('name')}\n")


def _selector(sel: object) -> str:
    text = selector_string(sel)
    return "" if text == NONE and isinstance(sel, dict) else text


def owned_pods(fetch: Fetch, owner: Obj) -> list[Obj]:
    """Pods matching the owner's selector whose controller is the owner."""
    md = meta(owner)
    sel = selector_string((owner.get("spec") or {}).get("selector"))
    params = {"labelSelector": sel} if sel != NONE else {}
    try:
        lst = fetch(f"/api/v1/namespaces/{md.get('namespace')}/pods", params)
    except Exception:  # best effort, like kubectl's describers
        return []
    return [p for p in lst.get("items") or []
            if any(r.get("controller") and r.get("uid") == md.get("uid")
                   for r in meta(p).get("ownerReferences") or [])]


def _pods_status(w: Writer, fetch: Fetch, o: Obj) -> None:
    phases = [(p.get("status") or {}).get("phase") for p in owned_pods(fetch, o)]
    w.write(0, f"Pods Status:\t{phases.count('Running')} Running / {phases.count('Pending')} "
               f"Waiting / {phases.count('Succeeded')} Succeeded / {phases.count('Failed')} "
               "Failed\n")


def _conditions(w: Writer, conds: list[Obj]) -> None:
    if conds:
        w.write(0, "Conditions:\n  Type\tStatus\tReason\n")
        w.write(1, "----\t------\t------\n")
        for c in conds:
            w.write(1, f"{c.get('type')} \t{c.get('status')}\t{c.get('reason') or ''}\n")


def _head(w: Writer, o: Obj, *, created: bool = False) -> None:
    md = meta(o)
    w.write(0, f"Name:\t{md.get('name')}\n")
    w.write(0, f"Namespace:\t{md.get('namespace')}\n")
    if created:
        w.write(0, f"CreationTimestamp:\t{rfc1123z(md.get('creationTimestamp'))}\n")


def deployment(w: Writer, o: Obj, fetch: Fetch) -> None:
    md, spec, st = meta(o), o.get("spec") or {}, o.get("status") or {}
    _head(w, o, created=True)
    labels_multiline(w, "Labels", md.get("labels"))
    annotations_multiline(w, "Annotations", md.get("annotations"))
    w.write(0, f"Selector:\t{_selector(spec.get('selector'))}\n")
    w.write(0, f"Replicas:\t{spec.get('replicas', 1)} desired | {st.get('updatedReplicas') or 0} "
               f"updated | {st.get('replicas') or 0} total | {st.get('availableReplicas') or 0} "
               f"available | {st.get('unavailableReplicas') or 0} unavailable\n")
    strategy = spec.get("strategy") or {}
    w.write(0, f"StrategyType:\t{strategy.get('type') or ''}\n")
    w.write(0, f"MinReadySeconds:\t{spec.get('minReadySeconds') or 0}\n")
    if strategy.get("rollingUpdate") is not None:
        ru = strategy["rollingUpdate"]
        w.write(0, f"RollingUpdateStrategy:\t{ru.get('maxUnavailable', '25%')} max unavailable, "
                   f"{ru.get('maxSurge', '25%')} max surge\n")
    pod_template(w, spec.get("template"))
    _conditions(w, st.get("conditions") or [])
    try:
        new, _, old = split_replicasets(o, owned_replicasets(fetch, o))
    except Exception:  # kubectl leaves the ReplicaSet lines out
        new, old = None, []
    if new is not None or old:
        w.write(0, f"OldReplicaSets:\t{replicasets_text(old)}\n")
        w.write(0, f"NewReplicaSet:\t{replicasets_text([new] if new else [])}\n")
    describe_events(w, events_for(fetch, o))


def replicaset(w: Writer, o: Obj, fetch: Fetch) -> None:
    """describeReplicaSet (and describeReplicationController, whose selector is a map)."""
    md, spec, st = meta(o), o.get("spec") or {}, o.get("status") or {}
    rc = o.get("kind") == "ReplicationController"
    _head(w, o)
    sel = spec.get("selector") or {}
    w.write(0, "Selector:\t" + (",".join(f"{k}={v}" for k, v in sorted(sel.items())) if rc
                                 else _selector(sel)) + "\n")
    labels_multiline(w, "Labels", md.get("labels"))
    annotations_multiline(w, "Annotations", md.get("annotations"))
    if not rc:
        _controlled_by(w, o)
    w.write(0, f"Replicas:\t{st.get('replicas') or 0} current / {spec.get('replicas', 1)} "
               "desired\n")
    _pods_status(w, fetch, o)
    pod_template(w, spec.get("template"))
    _conditions(w, st.get("conditions") or [])
    describe_events(w, events_for(fetch, o))


def daemonset(w: Writer, o: Obj, fetch: Fetch) -> None:
    md, spec, st = meta(o), o.get("spec") or {}, o.get("status") or {}
    _head(w, o)
    w.write(0, f"Selector:\t{_selector(spec.get('selector'))}\n")
    node_sel = ((spec.get("template") or {}).get("spec") or {}).get("nodeSelector") or {}
    w.write(0, "Node-Selector:\t" + (",".join(f"{k}={v}" for k, v in sorted(node_sel.items()))
                                     or NONE) + "\n")
    labels_multiline(w, "Labels", md.get("labels"))
    annotations_multiline(w, "Annotations", md.get("annotations"))
    for label, key in (("Desired Number of Nodes Scheduled", "desiredNumberScheduled"),
                       ("Current Number of Nodes Scheduled", "currentNumberScheduled"),
                       ("Number of Nodes Scheduled with Up-to-date Pods", "updatedNumberScheduled"),
                       ("Number of Nodes Scheduled with Available Pods", "numberAvailable"),
                       ("Number of Nodes Misscheduled", "numberMisscheduled")):
        w.write(0, f"{label}: {st.get(key) or 0}\n")
    _pods_status(w, fetch, o)
    pod_template(w, spec.get("template"))
    describe_events(w, events_for(fetch, o))


def statefulset(w: Writer, o: Obj, fetch: Fetch) -> None:
    """describeStatefulSet, with its ``Volume Claims:`` section."""
    md, spec, st = meta(o), o.get("spec") or {}, o.get("status") or {}
    _head(w, o, created=True)
    w.write(0, f"Selector:\t{_selector(spec.get('selector'))}\n")
    labels_multiline(w, "Labels", md.get("labels"))
    annotations_multiline(w, "Annotations", md.get("annotations"))
    if spec.get("serviceName"):
        w.write(0, f"Service Name:\t{spec['serviceName']}\n")
    w.write(0, f"Pod Management Policy:\t{spec.get('podManagementPolicy') or 'OrderedReady'}\n")
    w.write(0, f"Replicas:\t{spec.get('replicas', 1)} desired | {st.get('replicas') or 0} total\n")
    strategy = spec.get("updateStrategy") or {}
    w.write(0, f"Update Strategy:\t{strategy.get('type') or ''}\n")
    ru = strategy.get("rollingUpdate")
    if ru and ru.get("partition") is not None:
        w.write(1, f"Partition:\t{ru['partition']}\n")
        if ru.get("maxUnavailable") is not None:
            w.write(1, f"MaxUnavailable:\t{ru['maxUnavailable']}\n")
    retention = spec.get("persistentVolumeClaimRetentionPolicy")
    if retention is not None:
        w.write(0, "Persistent Volume Claim Retention Policy:\n")
        w.write(1, f"WhenDeleted:\t{retention.get('whenDeleted') or 'Retain'}\n")
        w.write(1, f"WhenScaled:\t{retention.get('whenScaled') or 'Retain'}\n")
    _pods_status(w, fetch, o)
    pod_template(w, spec.get("template"))
    claims = spec.get("volumeClaimTemplates") or []
    if not claims:
        w.write(0, "Volume Claims:\t<none>\n")
    else:
        w.write(0, "Volume Claims:\n")
    for claim in claims:
        cmeta, cspec = meta(claim), claim.get("spec") or {}
        w.write(1, f"Name:\t{cmeta.get('name')}\n")
        w.write(1, f"StorageClass:\t{cspec.get('storageClassName') or ''}\n")
        labels_multiline(w, "Labels", cmeta.get("labels"), indent="  ")
        labels_multiline(w, "Annotations", cmeta.get("annotations"), indent="  ")
        cap = ((cspec.get("resources") or {}).get("requests") or {}).get("storage")
        w.write(1, f"Capacity:\t{cap or '<default>'}\n")
        w.write(1, f"Access Modes:\t[{' '.join(cspec.get('accessModes') or [])}]\n")
    describe_events(w, events_for(fetch, o))


def job(w: Writer, o: Obj, fetch: Fetch) -> None:
    md, spec, st = meta(o), o.get("spec") or {}, o.get("status") or {}
    _head(w, o)
    w.write(0, f"Selector:\t{_selector(spec.get('selector'))}\n")
    labels_multiline(w, "Labels", md.get("labels"))
    annotations_multiline(w, "Annotations", md.get("annotations"))
    _controlled_by(w, o)
    if spec.get("parallelism") is not None:
        w.write(0, f"Parallelism:\t{spec['parallelism']}\n")
    w.write(0, f"Completions:\t{spec['completions'] if spec.get('completions') is not None else '<unset>'}\n")
    if spec.get("completionMode"):
        w.write(0, f"Completion Mode:\t{spec['completionMode']}\n")
    if spec.get("suspend") is not None:
        w.write(0, f"Suspend:\t{'true' if spec['suspend'] else 'false'}\n")
    if spec.get("backoffLimit") is not None:
        w.write(0, f"Backoff Limit:\t{spec['backoffLimit']}\n")
    if spec.get("ttlSecondsAfterFinished") is not None:
        w.write(0, f"TTL Seconds After Finished:\t{spec['ttlSecondsAfterFinished']}\n")
    if st.get("startTime"):
        w.write(0, f"Start Time:\t{rfc1123z(st['startTime'])}\n")
    if st.get("completionTime"):
        w.write(0, f"Completed At:\t{rfc1123z(st['completionTime'])}\n")
    start, end = parse_time(st.get("startTime")), parse_time(st.get("completionTime"))
    if start and end:
        w.write(0, f"Duration:\t{human_duration((end - start).total_seconds())}\n")
    if spec.get("activeDeadlineSeconds") is not None:
        w.write(0, f"Active Deadline Seconds:\t{spec['activeDeadlineSeconds']}s\n")
    counts = f"{st.get('succeeded') or 0} Succeeded / {st.get('failed') or 0} Failed"
    if st.get("ready") is None:
        w.write(0, f"Pods Statuses:\t{st.get('active') or 0} Active / {counts}\n")
    else:
        w.write(0, f"Pods Statuses:\t{st.get('active') or 0} Active ({st['ready']} Ready) / "
                   f"{counts}\n")
    if spec.get("completionMode") == "Indexed":
        done = str(st.get("completedIndexes") or "")
        cut = done.find(",", 50)
        w.write(0, f"Completed Indexes:\t{done[:cut + 1] + '...' if cut >= 0 else done or NONE}\n")
    pod_template(w, spec.get("template"))
    describe_events(w, events_for(fetch, o))


def _or_unset(v: object, suffix: str = "") -> str:
    return "<unset>" if v is None else f"{v}{suffix}"


def cronjob(w: Writer, o: Obj, fetch: Fetch) -> None:
    """describeCronJob, with its job template as describeJobTemplate prints it."""
    md, spec, st = meta(o), o.get("spec") or {}, o.get("status") or {}
    _head(w, o)
    labels_multiline(w, "Labels", md.get("labels"))
    annotations_multiline(w, "Annotations", md.get("annotations"))
    w.write(0, f"Schedule:\t{spec.get('schedule') or ''}\n")
    w.write(0, f"Concurrency Policy:\t{spec.get('concurrencyPolicy') or ''}\n")
    suspend = spec.get("suspend")
    w.write(0, f"Suspend:\t{'<unset>' if suspend is None else 'True' if suspend else 'False'}\n")
    w.write(0, f"Time Zone:\t{spec.get('timeZone') or '<unset>'}\n")
    w.write(0, "Successful Job History Limit:\t"
               f"{_or_unset(spec.get('successfulJobsHistoryLimit'))}\n")
    w.write(0, f"Failed Job History Limit:\t{_or_unset(spec.get('failedJobsHistoryLimit'))}\n")
    w.write(0, "Starting Deadline Seconds:\t"
               f"{_or_unset(spec.get('startingDeadlineSeconds'), 's')}\n")
    tspec = (spec.get("jobTemplate") or {}).get("spec") or {}
    w.write(0, "Selector:\t" + (_selector(tspec["selector"]) if tspec.get("selector") is not None
                                 else "<unset>") + "\n")
    w.write(0, f"Parallelism:\t{_or_unset(tspec.get('parallelism'))}\n")
    w.write(0, f"Completions:\t{_or_unset(tspec.get('completions'))}\n")
    if tspec.get("activeDeadlineSeconds") is not None:
        w.write(0, f"Active Deadline Seconds:\t{tspec['activeDeadlineSeconds']}s\n")
    pod_template(w, tspec.get("template") or {})
    last = st.get("lastScheduleTime")
    w.write(0, f"Last Schedule Time:\t{rfc1123z(last) if last else '<unset>'}\n")
    w.write(0, "Active Jobs:\t")
    w.line(", ".join(str(r.get("name")) for r in st.get("active") or []) or NONE)
    describe_events(w, events_for(fetch, o))
