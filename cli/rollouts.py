"""Rollout knowledge kctl shares between ``rollout``, ``scale`` and ``describe``.

A Deployment's history lives in its ReplicaSets: each carries the
``deployment.kubernetes.io/revision`` annotation and a copy of the pod
template (plus the ``pod-template-hash`` label).  This module finds a
Deployment's ReplicaSets (controller owner reference), tells the new one
from the old ones (template equal ignoring the hash, as kubectl's
``deploymentutil`` does), computes kubectl's rollout status lines for
Deployments, DaemonSets and StatefulSets, finds a StatefulSet's ControllerRevisions (its
history), and parses Go durations (``--timeout=5m``).
No I/O of its own: reads go through a ``fetch(path, params)`` callable.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable

from jetkube.schemas.objects import Obj
from jetkube.services.machinery.printers import selector_string

from .errors import CliError

Fetch = Callable[[str, dict[str, str]], Obj]

REVISION = "deployment.kubernetes.io/revision"
REVISION_HISTORY = "deployment.kubernetes.io/revision-history"
DESIRED_REPLICAS = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS = "deployment.kubernetes.io/max-replicas"
ROLLBACK_TO = "deprecated.deployment.rollback.to"
CHANGE_CAUSE = "kubernetes.io/change-cause"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
HASH_LABEL = "pod-template-hash"
TIMED_OUT_REASON = "ProgressDeadlineExceeded"
TRACE = "jetkube.io/traceparent"  # machinery.runtime.telemetry.ANNOTATION (not imported: OTel is slow)

# Deployment annotations a rollback keeps from the Deployment rather than the ReplicaSet
# (kubectl's list, plus the trace annotation each object has of its own).
ANNOTATIONS_TO_SKIP = frozenset({LAST_APPLIED, REVISION, REVISION_HISTORY, DESIRED_REPLICAS,
                                 MAX_REPLICAS, ROLLBACK_TO, TRACE})


def _meta(o: Obj) -> Obj:
    return o.get("metadata") or {}


def revision(obj: Obj) -> int | None:
    """The object's ``deployment.kubernetes.io/revision`` (None when unset or not a number)."""
    value = (_meta(obj).get("annotations") or {}).get(REVISION)
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def owned_replicasets(fetch: Fetch, deployment: Obj) -> list[Obj]:
    """The ReplicaSets whose controller is this Deployment (listed by its selector)."""
    meta = _meta(deployment)
    ns, uid = meta.get("namespace"), meta.get("uid")
    sel = (deployment.get("spec") or {}).get("selector") or {}
    params: dict[str, str] = {}
    text = selector_string(sel)
    if text != "<none>":
        params["labelSelector"] = text
    lst = fetch(f"/apis/apps/v1/namespaces/{ns}/replicasets", params)
    return [rs for rs in lst.get("items") or []
            if any(ref.get("controller") and ref.get("uid") == uid
                   for ref in _meta(rs).get("ownerReferences") or [])]


def without_hash(template: Obj) -> Obj:
    """A copy of a pod template without the ``pod-template-hash`` label."""
    t = copy.deepcopy(template or {})
    meta = t.get("metadata")
    if isinstance(meta, dict):
        labels = meta.get("labels")
        if isinstance(labels, dict):
            labels.pop(HASH_LABEL, None)
            if not labels:
                meta.pop("labels")
        if not meta:
            t.pop("metadata")
    return t


def equal_ignore_hash(a: Obj, b: Obj) -> bool:
    return without_hash(a) == without_hash(b)


def _created(rs: Obj) -> tuple[str, str]:
    return str(_meta(rs).get("creationTimestamp") or ""), str(_meta(rs).get("name") or "")


def split_replicasets(deployment: Obj, rss: list[Obj]) -> tuple[Obj | None, list[Obj], list[Obj]]:
    """(new, old with replicas, all old): the new ReplicaSet is the oldest whose template
    matches the Deployment's, as in kubectl's ``FindNewReplicaSet``."""
    tmpl = (deployment.get("spec") or {}).get("template") or {}
    ordered = sorted(rss, key=_created)
    new = next((rs for rs in ordered
                if equal_ignore_hash((rs.get("spec") or {}).get("template") or {}, tmpl)), None)
    old = [rs for rs in ordered if rs is not new]
    with_pods = [rs for rs in old if int((rs.get("spec") or {}).get("replicas", 1) or 0) != 0]
    return new, with_pods, old


def replicasets_text(rss: list[Obj]) -> str:
    """``web-5d9c (3/3 replicas created), ...`` as kubectl describe prints them."""
    parts = [f"{_meta(rs).get('name')} ({int((rs.get('status') or {}).get('replicas') or 0)}/"
             f"{int((rs.get('spec') or {}).get('replicas', 1) or 0)} replicas created)"
             for rs in rss]
    return ", ".join(parts) or "<none>"


def history(rss: list[Obj]) -> dict[int, Obj]:
    """Revision → ReplicaSet (ReplicaSets without a revision are left out)."""
    out: dict[int, Obj] = {}
    for rs in rss:
        r = revision(rs)
        if r is not None:
            out[r] = rs
    return out


# --- rollout status ------------------------------------------------------------

def _condition(status: Obj, typ: str) -> Obj | None:
    return next((c for c in status.get("conditions") or [] if c.get("type") == typ), None)


def deployment_status(d: Obj, want_revision: int = 0) -> tuple[str, bool]:
    """kubectl's ``DeploymentStatusViewer``: (message, done); a failed rollout raises."""
    meta, spec, st = _meta(d), d.get("spec") or {}, d.get("status") or {}
    name = meta.get("name")
    if want_revision > 0:
        rev = revision(d)
        if rev is None:
            raise CliError(f'cannot get the revision of deployment "{name}"')
        if rev != want_revision:
            raise CliError(f"desired revision ({want_revision}) is different from the running "
                           f"revision ({rev})")
    if int(meta.get("generation") or 0) > int(st.get("observedGeneration") or 0):
        return "Waiting for deployment spec update to be observed...", False
    cond = _condition(st, "Progressing")
    if cond is not None and cond.get("reason") == TIMED_OUT_REASON:
        raise CliError(f'deployment "{name}" exceeded its progress deadline')
    want = int(spec.get("replicas", 1) if spec.get("replicas") is not None else 1)
    replicas = int(st.get("replicas") or 0)
    updated = int(st.get("updatedReplicas") or 0)
    available = int(st.get("availableReplicas") or 0)
    prefix = f'Waiting for deployment "{name}" rollout to finish: '
    if updated < want:
        return f"{prefix}{updated} out of {want} new replicas have been updated...", False
    if replicas > updated:
        return f"{prefix}{replicas - updated} old replicas are pending termination...", False
    if available < updated:
        return f"{prefix}{available} of {updated} updated replicas are available...", False
    return f'deployment "{name}" successfully rolled out', True


def daemonset_status(ds: Obj, want_revision: int = 0) -> tuple[str, bool]:
    """kubectl's ``DaemonSetStatusViewer``: (message, done)."""
    meta, spec, st = _meta(ds), ds.get("spec") or {}, ds.get("status") or {}
    name = meta.get("name")
    strategy = (spec.get("updateStrategy") or {}).get("type") or "RollingUpdate"
    if strategy != "RollingUpdate":
        raise CliError("rollout status is only available for RollingUpdate strategy type")
    if int(meta.get("generation") or 0) > int(st.get("observedGeneration") or 0):
        return "Waiting for daemon set spec update to be observed...", False
    desired = int(st.get("desiredNumberScheduled") or 0)
    updated = int(st.get("updatedNumberScheduled") or 0)
    available = int(st.get("numberAvailable") or 0)
    prefix = f'Waiting for daemon set "{name}" rollout to finish: '
    if updated < desired:
        return f"{prefix}{updated} out of {desired} new pods have been updated...", False
    if available < desired:
        return f"{prefix}{available} of {desired} updated pods are available...", False
    return f'daemon set "{name}" successfully rolled out', True


def statefulset_status(sts: Obj, want_revision: int = 0) -> tuple[str, bool]:
    """kubectl's ``StatefulSetStatusViewer``: (message, done)."""
    meta, spec, st = _meta(sts), sts.get("spec") or {}, sts.get("status") or {}
    strategy = spec.get("updateStrategy") or {}
    if (strategy.get("type") or "RollingUpdate") != "RollingUpdate":
        raise CliError("rollout status is only available for RollingUpdate strategy type")
    observed = int(st.get("observedGeneration") or 0)
    if observed == 0 or int(meta.get("generation") or 0) > observed:
        return "Waiting for statefulset spec update to be observed...", False
    want = int(spec.get("replicas", 1) if spec.get("replicas") is not None else 1)
    ready, updated = int(st.get("readyReplicas") or 0), int(st.get("updatedReplicas") or 0)
    if ready < want:
        return f"Waiting for {want - ready} pods to be ready...", False
    partition = (strategy.get("rollingUpdate") or {}).get("partition")
    if strategy.get("rollingUpdate") is not None and partition is not None:
        if updated < want - int(partition):
            return ("Waiting for partitioned roll out to finish: "
                    f"{updated} out of {want - int(partition)} new pods have been updated..."), False
        return f"partitioned roll out complete: {updated} new pods have been updated...", True
    if st.get("updateRevision") != st.get("currentRevision"):
        return (f"waiting for statefulset rolling update to complete {updated} pods at revision "
                f"{st.get('updateRevision')}..."), False
    return (f"statefulset rolling update complete {int(st.get('currentReplicas') or 0)} pods at "
            f"revision {st.get('currentRevision')}..."), True


STATUS_VIEWERS: dict[str, Callable[[Obj, int], tuple[str, bool]]] = {
    "Deployment": deployment_status,
    "DaemonSet": daemonset_status,
    "StatefulSet": statefulset_status,
}


# --- ControllerRevisions (a StatefulSet's history) ----------------------------------------

def owned_revisions(fetch: Fetch, owner: Obj) -> dict[int, Obj]:
    """Revision number → ControllerRevision whose controller is ``owner`` (kubectl's
    ``controlledHistory``: listed by the owner's selector)."""
    meta = _meta(owner)
    params: dict[str, str] = {}
    text = selector_string((owner.get("spec") or {}).get("selector") or {})
    if text != "<none>":
        params["labelSelector"] = text
    lst = fetch(f"/apis/apps/v1/namespaces/{meta.get('namespace')}/controllerrevisions", params)
    return {int(r.get("revision") or 0): r for r in lst.get("items") or []
            if any(ref.get("controller") and ref.get("uid") == meta.get("uid")
                   for ref in _meta(r).get("ownerReferences") or [])}


def revision_template(revision: Obj) -> Obj:
    """The pod template a StatefulSet's revision restores (its data is a patch that
    replaces ``spec.template``)."""
    template = dict((((revision.get("data") or {}).get("spec") or {}).get("template")) or {})
    template.pop("$patch", None)
    return template


# --- durations -------------------------------------------------------------------

_DURATION = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str | None) -> float:
    """A Go duration (``30s``, ``5m``, ``1h2m3s``, ``0``) or plain seconds, in seconds."""
    value = (text or "0").strip()
    try:
        return float(value)
    except ValueError:
        pass
    pos, total = 0, 0.0
    for m in _DURATION.finditer(value):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _UNITS[m.group(2)]
        pos = m.end()
    if pos != len(value) or not value:
        raise CliError(f'invalid argument "{text}" for "--timeout" flag: time: invalid '
                       f'duration "{text}"')
    return total
